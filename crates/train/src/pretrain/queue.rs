//! The queue of negative keys of MoCo and SeCo: a fixed number of embeddings, first in, first out.

use tch::{Device, Kind, Tensor};

pub struct Queue {
    data: Tensor,
    capacity: i64,
    /// Next row to overwrite.
    next: i64,
    filled: i64,
}

impl Queue {
    pub fn new(capacity: i64, dim: i64, device: Device) -> Queue {
        Queue {
            data: Tensor::zeros([capacity, dim], (Kind::Float, device)),
            capacity,
            next: 0,
            filled: 0,
        }
    }

    /// Adds `keys` (N x dim, N ≤ capacity), replacing the oldest entries.
    pub fn push(&mut self, keys: &Tensor) {
        let keys = keys.detach();
        let n = keys.size()[0].min(self.capacity);
        tch::no_grad(|| {
            for i in 0..n {
                let row = (self.next + i) % self.capacity;
                self.data.get(row).copy_(&keys.get(i));
            }
        });
        self.next = (self.next + n) % self.capacity;
        self.filled = (self.filled + n).min(self.capacity);
    }

    /// The stored keys (only the filled rows), oldest first.
    pub fn keys(&self) -> Tensor {
        if self.filled < self.capacity {
            self.data.narrow(0, 0, self.filled)
        } else {
            let head = self.data.narrow(0, self.next, self.capacity - self.next);
            let tail = self.data.narrow(0, 0, self.next);
            Tensor::cat(&[head, tail], 0)
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> i64 {
        self.filled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.select(1, 0)).unwrap()
    }

    #[test]
    fn first_in_first_out() {
        let mut q = Queue::new(4, 2, Device::Cpu);
        let batch = |a: f32, b: f32| Tensor::from_slice(&[a, a, b, b]).view([2, 2]);
        q.push(&batch(1.0, 2.0));
        assert_eq!(q.len(), 2);
        assert_eq!(rows(&q.keys()), [1.0, 2.0]);
        q.push(&batch(3.0, 4.0));
        assert_eq!(rows(&q.keys()), [1.0, 2.0, 3.0, 4.0]);
        q.push(&batch(5.0, 6.0));
        assert_eq!(
            rows(&q.keys()),
            [3.0, 4.0, 5.0, 6.0],
            "the two oldest left first"
        );
        q.push(&Tensor::from_slice(&[7f32, 7.]).view([1, 2]));
        assert_eq!(rows(&q.keys()), [4.0, 5.0, 6.0, 7.0]);
    }
}
