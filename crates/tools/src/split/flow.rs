//! Integer flow with lower and upper bounds on edges (a feasible circulation), by Dinic's
//! algorithm. The splitter states "class c gets between floor and ceil of its target in split s,
//! split s gets between floor and ceil of its size, every sample goes somewhere it is allowed"
//! as such a network; integrality of flows is what makes all of these hold at once.

use std::collections::VecDeque;

const INF: i64 = i64::MAX / 4;

#[derive(Debug, Clone)]
struct Arc {
    to: usize,
    /// Remaining capacity (upper bound minus lower bound, minus flow).
    cap: i64,
}

/// Why no flow meets every bound: nodes that got fewer units than their outgoing lower bounds
/// need (`missing_in`), and nodes that could not pass on all that their incoming lower bounds
/// forced into them (`stuck_out`), each with the number of units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub missing_in: Vec<(usize, i64)>,
    pub stuck_out: Vec<(usize, i64)>,
}

/// A network whose edges carry `lower ..= upper` units; [`Network::solve`] finds a flow that
/// respects every bound and conserves flow at every node (a circulation).
#[derive(Debug, Clone, Default)]
pub struct Network {
    arcs: Vec<Arc>,
    adj: Vec<Vec<usize>>,
    /// Lower bound of each user edge.
    lower: Vec<i64>,
    /// Net lower-bound inflow per node.
    excess: Vec<i64>,
}

impl Network {
    pub fn new() -> Network {
        Network::default()
    }

    pub fn node(&mut self) -> usize {
        self.adj.push(Vec::new());
        self.excess.push(0);
        self.adj.len() - 1
    }

    /// An edge carrying between `lower` and `upper` units (`upper` = `None`: unbounded).
    pub fn edge(&mut self, from: usize, to: usize, lower: i64, upper: Option<i64>) -> usize {
        let upper = upper.unwrap_or(INF);
        assert!(0 <= lower && lower <= upper, "bad bounds {lower}..={upper}");
        let id = self.raw(from, to, upper - lower);
        self.excess[to] += lower;
        self.excess[from] -= lower;
        self.lower.push(lower);
        id / 2
    }

    fn raw(&mut self, from: usize, to: usize, cap: i64) -> usize {
        let id = self.arcs.len();
        self.arcs.push(Arc { to, cap });
        self.arcs.push(Arc { to: from, cap: 0 });
        self.adj[from].push(id);
        self.adj[to].push(id + 1);
        id
    }

    /// Units on a user edge after [`Network::solve`].
    pub fn flow(&self, edge: usize) -> i64 {
        self.lower[edge] + self.arcs[2 * edge + 1].cap
    }

    /// Finds a circulation meeting every bound. When none exists, says which nodes could not
    /// get or could not pass on the flow their lower bounds force: the constraints that cannot be
    /// met together.
    pub fn solve(&mut self) -> Result<(), Shortfall> {
        let user_arcs = self.arcs.len();
        let nodes = self.adj.len();
        let s = self.node();
        let t = self.node();
        let (mut sources, mut sinks) = (Vec::new(), Vec::new());
        for v in 0..nodes {
            let e = self.excess[v];
            if e > 0 {
                sources.push((v, self.raw(s, v, e)));
            } else if e < 0 {
                sinks.push((v, self.raw(v, t, -e)));
            }
        }
        self.max_flow(s, t);
        let left = |list: Vec<(usize, usize)>, arcs: &[Arc]| -> Vec<(usize, i64)> {
            list.into_iter()
                .filter(|&(_, arc)| arcs[arc].cap > 0)
                .map(|(v, arc)| (v, arcs[arc].cap))
                .collect()
        };
        let shortfall = Shortfall {
            missing_in: left(sinks, &self.arcs),
            stuck_out: left(sources, &self.arcs),
        };
        // Drop the helper arcs and nodes: the network is again what the caller built.
        self.arcs.truncate(user_arcs);
        self.adj.truncate(nodes);
        self.excess.truncate(nodes);
        for list in &mut self.adj {
            list.retain(|&a| a < user_arcs);
        }
        if shortfall.missing_in.is_empty() {
            Ok(())
        } else {
            Err(shortfall)
        }
    }

    fn max_flow(&mut self, s: usize, t: usize) -> i64 {
        let n = self.adj.len();
        let mut total = 0;
        loop {
            let mut level = vec![usize::MAX; n];
            level[s] = 0;
            let mut queue = VecDeque::from([s]);
            while let Some(v) = queue.pop_front() {
                for &a in &self.adj[v] {
                    let arc = &self.arcs[a];
                    if arc.cap > 0 && level[arc.to] == usize::MAX {
                        level[arc.to] = level[v] + 1;
                        queue.push_back(arc.to);
                    }
                }
            }
            if level[t] == usize::MAX {
                return total;
            }
            let mut next = vec![0usize; n];
            loop {
                let pushed = self.augment(s, t, INF, &level, &mut next);
                if pushed == 0 {
                    break;
                }
                total += pushed;
            }
        }
    }

    fn augment(
        &mut self,
        v: usize,
        t: usize,
        limit: i64,
        level: &[usize],
        next: &mut [usize],
    ) -> i64 {
        if v == t {
            return limit;
        }
        while next[v] < self.adj[v].len() {
            let a = self.adj[v][next[v]];
            let (to, cap) = (self.arcs[a].to, self.arcs[a].cap);
            if cap > 0 && level[to] == level[v] + 1 {
                let pushed = self.augment(to, t, limit.min(cap), level, next);
                if pushed > 0 {
                    self.arcs[a].cap -= pushed;
                    self.arcs[a ^ 1].cap += pushed;
                    return pushed;
                }
            }
            next[v] += 1;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_bounds_are_met_when_possible() {
        // a -> {x, y}: 5 units must leave a; x must get at least 3, y at most 1.
        let mut n = Network::new();
        let (src, a, x, y, sink) = (n.node(), n.node(), n.node(), n.node(), n.node());
        let feed = n.edge(src, a, 5, Some(5));
        let ax = n.edge(a, x, 0, None);
        let ay = n.edge(a, y, 0, None);
        let xs = n.edge(x, sink, 3, None);
        let ys = n.edge(y, sink, 0, Some(1));
        n.edge(sink, src, 0, None);
        assert!(n.solve().is_ok());
        assert_eq!(n.flow(feed), 5);
        assert_eq!(n.flow(ax) + n.flow(ay), 5);
        assert!(n.flow(xs) >= 3 && n.flow(ys) <= 1);
        assert_eq!(n.flow(ax), n.flow(xs));
    }

    #[test]
    fn an_impossible_bound_is_named() {
        // 2 units reach x, which must pass on 3.
        let mut n = Network::new();
        let (src, x, sink) = (n.node(), n.node(), n.node());
        n.edge(src, x, 0, Some(2));
        n.edge(x, sink, 3, None);
        n.edge(sink, src, 0, None);
        let short = n.solve().unwrap_err();
        assert_eq!(short.missing_in, vec![(x, 1)]);
    }
}
