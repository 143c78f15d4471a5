//! Field-level serde helpers for Go protojson's scalar rules (tetragon.md §2.1): integers are
//! accepted as numbers or strings and 64-bit ones are written as strings, `bytes` are base64,
//! enums are names (numbers are accepted too), and a `null` means the default value.

use std::fmt;
use std::marker::PhantomData;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Serializer};

use super::enums::{
    CAPABILITIES, KPROBE_ACTIONS, Names, PRIVILEGES_CHANGED, SECURE_BITS, THROTTLE_TYPES,
};

/// True for a proto3 default, which protojson leaves out.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

struct IntVisitor<T>(PhantomData<T>);

impl<T> Visitor<'_> for IntVisitor<T>
where
    T: TryFrom<u64> + TryFrom<i64> + Default,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer (a JSON number or a decimal string)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // protojson accepts `1e3` for an integer field as long as it is integral.
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(E::invalid_value(Unexpected::Float(v), &self));
        }
        if v >= 0.0 && v <= u64::MAX as f64 {
            self.visit_u64(v as u64)
        } else if v >= i64::MIN as f64 {
            self.visit_i64(v as i64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        if let Ok(u) = v.parse::<u64>() {
            self.visit_u64(u)
        } else if let Ok(i) = v.parse::<i64>() {
            self.visit_i64(i)
        } else if let Ok(f) = v.parse::<f64>() {
            self.visit_f64(f)
        } else {
            Err(E::invalid_value(Unexpected::Str(v), &self))
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

/// Deserializes an integer given as a number or a string (`"627"`).
pub(crate) fn int<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64> + TryFrom<i64> + Default,
{
    deserializer.deserialize_any(IntVisitor(PhantomData))
}

struct OptIntVisitor<T>(PhantomData<T>);

/// One pass over the value: cheaper than `deserialize_option`, which looks for `null` first.
impl<T> Visitor<'_> for OptIntVisitor<T>
where
    T: TryFrom<u64> + TryFrom<i64> + Default,
{
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        IntVisitor(PhantomData).visit_u64(v).map(Some)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        IntVisitor(PhantomData).visit_i64(v).map(Some)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        IntVisitor(PhantomData).visit_f64(v).map(Some)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        IntVisitor(PhantomData).visit_str(v).map(Some)
    }
}

/// Deserializes a wrapper type (`google.protobuf.UInt32Value` …): a bare integer or null.
pub(crate) fn opt_int<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64> + TryFrom<i64> + Default,
{
    deserializer.deserialize_any(OptIntVisitor(PhantomData))
}

/// An integer field read through `MapAccess::next_value` (see `merge.rs`); `null` reads as 0.
pub(crate) struct Int<T>(pub(crate) T);

impl<'de, T> Deserialize<'de> for Int<T>
where
    T: TryFrom<u64> + TryFrom<i64> + Default,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        int(deserializer).map(Int)
    }
}

/// A wrapper-typed integer field read through `MapAccess::next_value`.
pub(crate) struct OptInt<T>(pub(crate) Option<T>);

impl<'de, T> Deserialize<'de> for OptInt<T>
where
    T: TryFrom<u64> + TryFrom<i64> + Default,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        opt_int(deserializer).map(OptInt)
    }
}

/// A `KprobeAction` field read through `MapAccess::next_value`.
pub(crate) struct Action(pub(crate) String);

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        kprobe_action(deserializer).map(Action)
    }
}

/// A `bytes` field read through `MapAccess::next_value`.
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bytes::deserialize(deserializer).map(Bytes)
    }
}

/// `uint64`/`int64`: written as a JSON string, read as string or number.
pub(crate) mod int64 {
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer, T: std::fmt::Display>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64> + TryFrom<i64> + Default,
    {
        super::int(deserializer)
    }
}

/// protojson reads standard or URL-safe base64, padded or not.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const BASE64_URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    general_purpose::NO_PAD.with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `bytes`: standard padded base64 on output.
pub(crate) mod bytes {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(value))
    }

    struct BytesVisitor;

    impl Visitor<'_> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a base64 string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            BASE64_LENIENT
                .decode(v)
                .or_else(|_| BASE64_URL_LENIENT.decode(v))
                .map_err(|e| E::custom(format_args!("invalid base64 {v:?}: {e}")))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
            Ok(Vec::new())
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_any(BytesVisitor)
    }
}

/// One enum value, given by name or number. Singular fields map the zero value to `""` so
/// that it is omitted on output like protojson does; list elements keep it.
#[derive(Clone, Copy)]
struct EnumSeed {
    names: Names,
    keep_zero: bool,
}

impl EnumSeed {
    fn named(self, name: &str) -> String {
        if !self.keep_zero && name == self.names.zero() {
            String::new()
        } else {
            name.to_owned()
        }
    }
}

impl Visitor<'_> for EnumSeed {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum name or number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(self.named(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        match self.names.name(v) {
            Some(name) => Ok(self.named(name)),
            // An unknown number keeps its value rather than failing the whole event.
            None => Ok(v.to_string()),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => Ok(v.to_string()),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
}

impl<'de> DeserializeSeed<'de> for EnumSeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

struct EnumListVisitor(Names);

impl<'de> Visitor<'de> for EnumListVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of enum names or numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let seed = EnumSeed {
            names: self.0,
            keep_zero: true,
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(name) = seq.next_element_seed(seed)? {
            out.push(name);
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }
}

fn singular<'de, D: Deserializer<'de>>(deserializer: D, names: Names) -> Result<String, D::Error> {
    EnumSeed {
        names,
        keep_zero: false,
    }
    .deserialize(deserializer)
}

fn list<'de, D: Deserializer<'de>>(deserializer: D, names: Names) -> Result<Vec<String>, D::Error> {
    deserializer.deserialize_any(EnumListVisitor(names))
}

pub(crate) fn kprobe_action<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    singular(d, Names::Indexed(&KPROBE_ACTIONS))
}

pub(crate) fn throttle_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    singular(d, Names::Indexed(&THROTTLE_TYPES))
}

pub(crate) fn capabilities<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    list(d, Names::Indexed(&CAPABILITIES))
}

pub(crate) fn secure_bits<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    list(d, Names::Valued(&SECURE_BITS))
}

pub(crate) fn privileges_changed<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    list(d, Names::Indexed(&PRIVILEGES_CHANGED))
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Sample {
        #[serde(deserialize_with = "int")]
        small: u32,
        #[serde(deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
        wrapped: Option<u32>,
        #[serde(with = "int64", skip_serializing_if = "is_default")]
        big: u64,
        #[serde(with = "bytes", skip_serializing_if = "Vec::is_empty")]
        raw: Vec<u8>,
        #[serde(
            deserialize_with = "kprobe_action",
            skip_serializing_if = "String::is_empty"
        )]
        action: String,
        #[serde(
            deserialize_with = "capabilities",
            skip_serializing_if = "Vec::is_empty"
        )]
        caps: Vec<String>,
    }

    fn parse(json: &str) -> Sample {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn integers_as_numbers_or_strings() {
        let s = parse(r#"{"small":"7","wrapped":0,"big":627}"#);
        assert_eq!((s.small, s.wrapped, s.big), (7, Some(0), 627));
        let s = parse(r#"{"small":1e2,"wrapped":null,"big":"18446744073709551615"}"#);
        assert_eq!((s.small, s.wrapped, s.big), (100, None, u64::MAX));
        assert!(serde_json::from_str::<Sample>(r#"{"small":-1}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"small":1.5}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"small":"x"}"#).is_err());
    }

    #[test]
    fn writes_64_bit_as_string_and_wrappers_when_set() {
        let s = Sample {
            wrapped: Some(0),
            big: 627,
            ..Sample::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"small":0,"wrapped":0,"big":"627"}"#);
    }

    #[test]
    fn bytes_are_base64() {
        let s = parse(r#"{"raw":"AQL/"}"#);
        assert_eq!(s.raw, [1, 2, 255]);
        assert_eq!(parse(r#"{"raw":"AQL_"}"#).raw, [1, 2, 255]);
        assert_eq!(parse(r#"{"raw":"AQ"}"#).raw, [1]);
        let json = serde_json::to_string(&Sample {
            raw: vec![1],
            ..Sample::default()
        })
        .unwrap();
        assert!(json.contains(r#""raw":"AQ==""#), "{json}");
    }

    #[test]
    fn enums_by_name_or_number() {
        let s = parse(r#"{"action":3,"caps":[21,"CAP_BPF",0]}"#);
        assert_eq!(s.action, "KPROBE_ACTION_SIGKILL");
        assert_eq!(s.caps, ["CAP_SYS_ADMIN", "CAP_BPF", "CAP_CHOWN"]);
        assert_eq!(parse(r#"{"action":"KPROBE_ACTION_UNKNOWN"}"#).action, "");
        assert_eq!(parse(r#"{"action":0}"#).action, "");
        assert_eq!(parse(r#"{"action":99}"#).action, "99");
    }
}
