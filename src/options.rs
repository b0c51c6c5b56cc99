//! Options with a fixed set of values (tiling, device, scaling, output grid, selection
//! measure): each is one library type whose lowercase name is its string form everywhere
//! (command line, virtual-mask descriptors, GDAL pixel-function arguments, JSON), so the names
//! are written once, in the type's [`Choice`] implementation.

use crate::error::{Error, Result};

/// A value of an option with a fixed set of values.
pub trait Choice: Copy + PartialEq + std::fmt::Debug + 'static {
    /// What the option is called in messages ("tiling", "device").
    const OPTION: &'static str;
    /// Every value, in the order of their C values (`cm_*`) and of the lists shown to users.
    const ALL: &'static [Self];
    /// Its string form: lowercase, one word.
    fn name(self) -> &'static str;
    /// One line saying what it does, for the command line's list of values.
    fn help(self) -> &'static str;
}

/// The names of every value: "exact or ukis", "entropy, margin or disagreement".
pub fn names<T: Choice>() -> String {
    one_of(T::ALL.iter().map(|v| v.name().to_string()).collect())
}

/// "a", "a or b", "a, b or c": the alternatives a message offers.
pub(crate) fn one_of(items: Vec<String>) -> String {
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The value named `s` (case and surrounding spaces ignored), or an error listing the names.
pub fn parse<T: Choice>(s: &str) -> Result<T> {
    let wanted = s.trim().to_ascii_lowercase();
    T::ALL
        .iter()
        .copied()
        .find(|v| v.name() == wanted)
        .ok_or_else(|| Error::invalid(format!("unknown {} '{s}': use {}", T::OPTION, names::<T>())))
}

/// `Display`, `FromStr` and serde's string form of a [`Choice`], all from its names.
macro_rules! choice_strings {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::options::Choice::name(*self))
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                $crate::options::parse(s)
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str($crate::options::Choice::name(*self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let name = <String as serde::Deserialize>::deserialize(d)?;
                $crate::options::parse(&name).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use choice_strings;

/// [`Choice`] and its string forms for an enum without fields: each variant with its name and
/// help, in the order of `ALL`.
macro_rules! choice {
    ($t:ident, $option:literal, [$($v:ident => $name:literal, $help:literal),+ $(,)?]) => {
        impl $crate::options::Choice for $t {
            const OPTION: &'static str = $option;
            const ALL: &'static [Self] = &[$($t::$v),+];
            fn name(self) -> &'static str {
                match self {
                    $($t::$v => $name),+
                }
            }
            fn help(self) -> &'static str {
                match self {
                    $($t::$v => $help),+
                }
            }
        }
        $crate::options::choice_strings!($t);
    };
}
pub(crate) use choice;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Tiling;
    use crate::model::{Device, Precision};
    use crate::raster::grid::OutputGrid;
    use crate::raster::Scaling;
    use crate::select::Measure;

    fn round_trips<T: Choice + std::str::FromStr<Err = Error> + std::fmt::Display>() {
        for &v in T::ALL {
            assert_eq!(v.to_string(), v.name());
            assert_eq!(v.name(), v.name().to_ascii_lowercase(), "{v:?}");
            assert_eq!(v.name().parse::<T>().unwrap(), v);
            assert_eq!(
                parse::<T>(&format!(" {} ", v.name().to_uppercase())).unwrap(),
                v
            );
            assert!(!v.help().is_empty(), "{v:?}");
        }
        let err = "nonsense".parse::<T>().unwrap_err();
        assert!(err.message.contains(T::OPTION), "{}", err.message);
        for v in T::ALL {
            assert!(err.message.contains(v.name()), "{}", err.message);
        }
    }

    #[test]
    fn every_choice_parses_its_own_names() {
        round_trips::<Tiling>();
        round_trips::<Device>();
        round_trips::<Precision>();
        round_trips::<Scaling>();
        round_trips::<OutputGrid>();
        round_trips::<Measure>();
    }

    #[test]
    fn names_are_listed_for_messages_and_json() {
        assert_eq!(names::<Tiling>(), "exact or ukis");
        assert_eq!(names::<Measure>(), "entropy, margin or disagreement");
        assert_eq!(serde_json::to_string(&Device::Cuda).unwrap(), "\"cuda\"");
        let d: Device = serde_json::from_str("\"cpu\"").unwrap();
        assert_eq!(d, Device::Cpu);
        assert!(serde_json::from_str::<Device>("\"gpu\"").is_err());
        assert_eq!(names::<Device>(), "cpu, cuda, openvino or auto");
        assert_eq!(names::<Precision>(), "f32, bf16 or auto");
    }
}
