//! An event's detail fields, written once as text into one buffer.
//!
//! A trace is recorded on every lab request and read on few of them, so the
//! recording side does the least work: an event's fields cost one string and
//! one list of offsets, not a JSON value tree and two strings per field.
//! Strings, numbers and booleans are written as they are; anything else
//! (lists, maps, floats) as JSON, as the timeline has always shown them.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};

use super::limits::{self, MAX_FIELD_BYTES};

/// Longest field name kept, in bytes.
const MAX_NAME_BYTES: usize = 64;

/// Name and value texts back to back, with where each one ends.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields {
    text: String,
    /// The end of each name and of each value in `text`, alternating.
    ends: Vec<u32>,
}

impl Fields {
    /// The fields of a serialisable struct (or map); any other value becomes
    /// one field named `value`.
    pub(crate) fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        let mut fields = Self::default();
        if value.serialize(FieldsWriter(&mut fields)).is_err() {
            fields = Self::default();
            fields.push_name("value");
            fields.push_value(value);
        }
        fields
    }

    /// Sets one field, replacing an earlier value of the same name.
    pub(crate) fn set<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        if self.iter().any(|(kept, _)| kept == name) {
            let mut rest = Self::default();
            for (kept, text) in self.iter().filter(|(kept, _)| *kept != name) {
                rest.push_name(kept);
                rest.push_value(text);
            }
            *self = rest;
        }
        self.push_name(name);
        self.push_value(value);
    }

    /// The fields in the order they were written.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.chunks_exact(2).map(move |pair| {
            let (name_end, value_end) = (pair[0] as usize, pair[1] as usize);
            let field = (&self.text[start..name_end], &self.text[name_end..value_end]);
            start = value_end;
            field
        })
    }

    /// How many fields there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// The bytes of text held.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    fn push_name(&mut self, name: &str) {
        self.text.push_str(limits::prefix(name, MAX_NAME_BYTES));
        self.mark_end();
    }

    fn push_value<T: Serialize + ?Sized>(&mut self, value: &T) {
        let start = self.text.len();
        if value.serialize(PlainText(&mut self.text)).is_err() {
            self.text.truncate(start);
            match serde_json::to_string(value) {
                Ok(json) => self.text.push_str(&json),
                Err(error) => self.text.push_str(&error.to_string()),
            }
        }
        if self.text.len() - start > MAX_FIELD_BYTES {
            let cut = limits::cut(&self.text[start..], MAX_FIELD_BYTES);
            self.text.truncate(start);
            self.text.push_str(&cut);
        }
        self.mark_end();
    }

    fn mark_end(&mut self) {
        // Fields are bounded far below 4 GiB (MAX_FIELD_BYTES each).
        self.ends.push(self.text.len() as u32);
    }
}

/// Why a value was not written as plain text: the caller writes it as JSON.
#[derive(Debug)]
struct NotPlain;

impl fmt::Display for NotPlain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a plain value")
    }
}

impl std::error::Error for NotPlain {}

impl ser::Error for NotPlain {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotPlain
    }
}

/// The scalar methods `FieldsWriter` refuses: a bare scalar has no fields.
macro_rules! refuse_scalars {
    () => {
        fn serialize_bool(self, _: bool) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_i8(self, _: i8) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_i16(self, _: i16) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_i32(self, _: i32) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_i64(self, _: i64) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_u8(self, _: u8) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_u16(self, _: u16) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_u32(self, _: u32) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_u64(self, _: u64) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_f32(self, _: f32) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_f64(self, _: f64) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_char(self, _: char) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_str(self, _: &str) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_bytes(self, _: &[u8]) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_none(self) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_unit(self) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
    };
}

/// The compound methods both serializers refuse: lists, tuples and enum
/// variants with data are written as JSON by the caller instead.
macro_rules! refuse_compounds {
    () => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotPlain> {
            Err(NotPlain)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotPlain> {
            Err(NotPlain)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, NotPlain> {
            Err(NotPlain)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, NotPlain> {
            Err(NotPlain)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, NotPlain> {
            Err(NotPlain)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), NotPlain> {
            Err(NotPlain)
        }
    };
}

/// Writes the top-level struct or map, one field per member.
struct FieldsWriter<'a>(&'a mut Fields);

impl SerializeStruct for FieldsWriter<'_> {
    type Ok = ();
    type Error = NotPlain;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), NotPlain> {
        self.0.push_name(name);
        self.0.push_value(value);
        Ok(())
    }

    fn end(self) -> Result<(), NotPlain> {
        Ok(())
    }
}

impl SerializeMap for FieldsWriter<'_> {
    type Ok = ();
    type Error = NotPlain;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NotPlain> {
        let mut name = String::new();
        key.serialize(PlainText(&mut name))?;
        self.0.push_name(&name);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotPlain> {
        self.0.push_value(value);
        Ok(())
    }

    fn end(self) -> Result<(), NotPlain> {
        Ok(())
    }
}

/// Only structs and maps have fields; every other method refuses.
impl<'a> Serializer for FieldsWriter<'a> {
    type Ok = ();
    type Error = NotPlain;
    type SerializeSeq = Impossible<(), NotPlain>;
    type SerializeTuple = Impossible<(), NotPlain>;
    type SerializeTupleStruct = Impossible<(), NotPlain>;
    type SerializeTupleVariant = Impossible<(), NotPlain>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), NotPlain>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotPlain> {
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, NotPlain> {
        Ok(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotPlain> {
        value.serialize(self)
    }

    refuse_scalars!();
    refuse_compounds!();

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), NotPlain> {
        Err(NotPlain)
    }
}

/// Writes a string, number, boolean or nothing as plain text; refuses the
/// rest (and floats, whose JSON form differs from Rust's `Display`).
struct PlainText<'a>(&'a mut String);

impl PlainText<'_> {
    /// Integers without the formatting machinery: every trace writes several.
    fn integer(self, value: impl itoa::Integer) -> Result<(), NotPlain> {
        self.0.push_str(itoa::Buffer::new().format(value));
        Ok(())
    }
}

impl<'a> Serializer for PlainText<'a> {
    type Ok = ();
    type Error = NotPlain;
    type SerializeSeq = Impossible<(), NotPlain>;
    type SerializeTuple = Impossible<(), NotPlain>;
    type SerializeTupleStruct = Impossible<(), NotPlain>;
    type SerializeTupleVariant = Impossible<(), NotPlain>;
    type SerializeMap = Impossible<(), NotPlain>;
    type SerializeStruct = Impossible<(), NotPlain>;
    type SerializeStructVariant = Impossible<(), NotPlain>;

    fn serialize_bool(self, value: bool) -> Result<(), NotPlain> {
        self.0.push_str(if value { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, value: i8) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_i16(self, value: i16) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_i32(self, value: i32) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_i64(self, value: i64) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_i128(self, value: i128) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_u8(self, value: u8) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_u16(self, value: u16) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_u32(self, value: u32) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_u64(self, value: u64) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_u128(self, value: u128) -> Result<(), NotPlain> {
        self.integer(value)
    }
    fn serialize_f32(self, _: f32) -> Result<(), NotPlain> {
        Err(NotPlain)
    }
    fn serialize_f64(self, _: f64) -> Result<(), NotPlain> {
        Err(NotPlain)
    }
    fn serialize_char(self, value: char) -> Result<(), NotPlain> {
        self.0.push(value);
        Ok(())
    }
    fn serialize_str(self, value: &str) -> Result<(), NotPlain> {
        self.0.push_str(value);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), NotPlain> {
        Err(NotPlain)
    }
    fn serialize_none(self) -> Result<(), NotPlain> {
        self.0.push_str("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotPlain> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), NotPlain> {
        self.0.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotPlain> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), NotPlain> {
        self.0.push_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotPlain> {
        value.serialize(self)
    }
    refuse_compounds!();

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotPlain> {
        Err(NotPlain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Verdict {
        Allowed,
    }

    #[derive(Serialize)]
    struct Everything<'a> {
        text: &'a str,
        count: u32,
        negative: i64,
        flag: bool,
        missing: Option<u8>,
        present: Option<&'a str>,
        verdict: Verdict,
        ratio: f64,
        list: Vec<u8>,
    }

    fn pairs(fields: &Fields) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_values_are_written_as_they_are_and_the_rest_as_json() {
        let fields = Fields::of(&Everything {
            text: "a \"quoted\" text",
            count: 3,
            negative: -7,
            flag: true,
            missing: None,
            present: Some("yes"),
            verdict: Verdict::Allowed,
            ratio: 1.0,
            list: vec![1, 2],
        });
        let expected = [
            ("text", "a \"quoted\" text"),
            ("count", "3"),
            ("negative", "-7"),
            ("flag", "true"),
            ("missing", "null"),
            ("present", "yes"),
            ("verdict", "allowed"),
            ("ratio", "1.0"),
            ("list", "[1,2]"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(&fields), expected);
        assert_eq!(fields.len(), 9);
    }

    #[test]
    fn a_value_that_is_not_a_struct_is_one_field_named_value() {
        assert_eq!(
            pairs(&Fields::of(&42)),
            vec![("value".to_string(), "42".to_string())]
        );
    }

    #[test]
    fn setting_a_field_again_replaces_it() {
        let mut fields = Fields::default();
        fields.set("rows", &1);
        fields.set("plan", "SCAN");
        fields.set("rows", &3);
        assert_eq!(
            pairs(&fields),
            vec![
                ("plan".to_string(), "SCAN".to_string()),
                ("rows".to_string(), "3".to_string())
            ]
        );
    }

    #[test]
    fn long_values_and_names_are_cut() {
        let mut fields = Fields::default();
        fields.set(&"n".repeat(500), &"v".repeat(100_000));
        let (name, value) = fields.iter().next().unwrap();
        assert_eq!(name.len(), MAX_NAME_BYTES);
        assert!(value.len() < MAX_FIELD_BYTES + 40, "{}", value.len());
        assert!(value.ends_with("more bytes]"));
    }
}
