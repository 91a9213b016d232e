//! The islands' JSON: the labs' answers read, and their requests written,
//! with the browser's own `JSON` doing the text.
//!
//! `serde_json` in the browser bundle cost more than the console using it
//! (BENCHMARKS.md, "Every page with islands loads one file of its own"):
//! its parser, and the float formatting its error messages pull in. Here
//! the browser parses, and serde only walks the parsed value into the
//! `model` types, so the wire types stay defined once, by their derives.
//! Errors say which field was missing or that the shape was wrong, never
//! the value they saw, which keeps `core::fmt`'s float code out.
//!
//! On the server (the first render) the same two functions use
//! `serde_json`, which the server links anyway.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why an answer could not be read as the type asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// The text is not JSON.
    Syntax,
    /// An object lacks a field the type needs.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    MissingField(&'static str),
    /// A value has another shape than the type's (a string for a number,
    /// an unknown variant, a list of the wrong length, ...).
    Shape,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str("the answer is not JSON"),
            Self::MissingField(field) => {
                f.write_str("the answer lacks the field `")?;
                f.write_str(field)?;
                f.write_str("`")
            }
            Self::Shape => f.write_str("the answer has another shape than expected"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Reads `text` as a `T`.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    #[cfg(feature = "hydrate")]
    {
        let value = js_sys::JSON::parse(text).map_err(|_| JsonError::Syntax)?;
        T::deserialize(browser::Value(value))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        serde_json::from_str(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                JsonError::Syntax
            }
            _ => JsonError::Shape,
        })
    }
}

/// Writes `value` as JSON text (`None` only for values JSON cannot hold,
/// such as a map with non-text keys).
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let value = value.serialize(browser::ToJs).ok()?;
        js_sys::JSON::stringify(&value).ok()?.as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        serde_json::to_string(value).ok()
    }
}

/// The `message` of one of the workbench's JSON error bodies, or the text
/// itself when it is not one.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) fn error_message(text: String) -> String {
    from_str::<crate::model::ErrorBody>(&text).map_or(text, |e| e.message)
}

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Array, Object, Reflect};
    use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
    use serde::ser::{self, Serialize};
    use wasm_bindgen::{JsCast, JsValue};

    use super::JsonError;

    impl de::Error for JsonError {
        // The message would format what was seen, floats included; the
        // variants below say enough for a student's error line.
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Self::Shape
        }

        fn missing_field(field: &'static str) -> Self {
            Self::MissingField(field)
        }
    }

    impl ser::Error for JsonError {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Self::Shape
        }
    }

    /// Integers JSON numbers hold exactly (2^53).
    const EXACT: f64 = 9_007_199_254_740_992.0;

    /// `deserialize_<int>` methods that read a whole number with `$read`.
    macro_rules! whole_numbers {
        ($($($method:ident)+ => $read:ident;)+) => {
            $($(
                fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
                    self.$read(visitor)
                }
            )+)+
        };
    }

    /// A value `JSON.parse` made, walked by serde.
    pub(super) struct Value(pub(super) JsValue);

    impl<'de> de::Deserializer<'de> for Value {
        type Error = JsonError;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            let value = self.0;
            if value.is_null() || value.is_undefined() {
                visitor.visit_unit()
            } else if let Some(flag) = value.as_bool() {
                visitor.visit_bool(flag)
            } else if let Some(number) = value.as_f64() {
                if number.fract() == 0.0 && number.abs() < EXACT {
                    if number >= 0.0 {
                        visitor.visit_u64(number as u64)
                    } else {
                        visitor.visit_i64(number as i64)
                    }
                } else {
                    visitor.visit_f64(number)
                }
            } else if let Some(text) = value.as_string() {
                visitor.visit_string(text)
            } else if let Some(items) = value.dyn_ref::<Array>() {
                visitor.visit_seq(Items {
                    items: items.clone(),
                    next: 0,
                })
            } else if value.is_object() {
                visitor.visit_map(Fields {
                    keys: Object::keys(value.unchecked_ref::<Object>()),
                    object: value,
                    next: 0,
                })
            } else {
                Err(JsonError::Shape)
            }
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            if self.0.is_null() || self.0.is_undefined() {
                visitor.visit_none()
            } else {
                visitor.visit_some(self)
            }
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            visitor.visit_newtype_struct(self)
        }

        /// `"variant"` for a unit variant, `{"variant": value}` for others,
        /// as `serde_json` writes them.
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            if let Some(name) = self.0.as_string() {
                return visitor.visit_enum(name.into_deserializer());
            }
            let keys = Object::keys(self.0.dyn_ref::<Object>().ok_or(JsonError::Shape)?);
            if keys.length() != 1 {
                return Err(JsonError::Shape);
            }
            let name = keys.get(0);
            let inner = Reflect::get(&self.0, &name).map_err(|_| JsonError::Shape)?;
            visitor.visit_enum(Variant {
                name: name.as_string().unwrap_or_default(),
                inner,
            })
        }

        // Each type asks for what it is: the shortest code per field, where
        // `deserialize_any` would test every kind of value for each one.
        whole_numbers! {
            deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 => unsigned;
            deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 => signed;
        }

        fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            self.deserialize_f64(visitor)
        }

        fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            visitor.visit_f64(self.0.as_f64().ok_or(JsonError::Shape)?)
        }

        /// A field left out reads as `false` (`skip_serializing_if =
        /// "std::ops::Not::not"` leaves it out).
        fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            if self.0.is_undefined() {
                return visitor.visit_bool(false);
            }
            visitor.visit_bool(self.0.as_bool().ok_or(JsonError::Shape)?)
        }

        fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            visitor.visit_string(self.0.as_string().ok_or(JsonError::Shape)?)
        }

        fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            self.deserialize_string(visitor)
        }

        fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            self.deserialize_string(visitor)
        }

        fn deserialize_identifier<V: Visitor<'de>>(
            self,
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            self.deserialize_string(visitor)
        }

        /// A field left out reads as an empty list (`skip_serializing_if =
        /// "Vec::is_empty"` leaves it out).
        fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            let items = if self.0.is_undefined() {
                Array::new()
            } else {
                self.0.dyn_into::<Array>().map_err(|_| JsonError::Shape)?
            };
            visitor.visit_seq(Items { items, next: 0 })
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            _len: usize,
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            self.deserialize_seq(visitor)
        }

        fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            let object = self.0.dyn_into::<Object>().map_err(|_| JsonError::Shape)?;
            visitor.visit_map(Fields {
                keys: Object::keys(&object),
                object: object.into(),
                next: 0,
            })
        }

        /// A struct is read as serde's sequence form: each declared field
        /// looked up by name, in order. The derive's code for that form is
        /// a fraction of the map form's, which matches every key against
        /// every field name; unknown fields are never visited.
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            let object = self.0.dyn_into::<Object>().map_err(|_| JsonError::Shape)?;
            visitor.visit_seq(Declared {
                object,
                fields,
                next: 0,
            })
        }

        /// An unknown field's value: nothing to read.
        fn deserialize_ignored_any<V: Visitor<'de>>(
            self,
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            visitor.visit_unit()
        }

        serde::forward_to_deserialize_any! {
            i128 u128 bytes byte_buf unit unit_struct tuple_struct
        }
    }

    impl Value {
        /// The number, when it is whole and JSON holds it exactly.
        fn whole(&self) -> Result<f64, JsonError> {
            match self.0.as_f64() {
                Some(n) if n.fract() == 0.0 && n.abs() < EXACT => Ok(n),
                _ => Err(JsonError::Shape),
            }
        }

        fn unsigned<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            match self.whole()? {
                n if n >= 0.0 => visitor.visit_u64(n as u64),
                _ => Err(JsonError::Shape),
            }
        }

        fn signed<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
            visitor.visit_i64(self.whole()? as i64)
        }
    }

    struct Items {
        items: Array,
        next: u32,
    }

    impl<'de> de::SeqAccess<'de> for Items {
        type Error = JsonError;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, JsonError> {
            if self.next >= self.items.length() {
                return Ok(None);
            }
            let item = self.items.get(self.next);
            self.next += 1;
            seed.deserialize(Value(item)).map(Some)
        }
    }

    /// A struct's fields, in the order the type declares them.
    struct Declared {
        object: Object,
        fields: &'static [&'static str],
        next: usize,
    }

    impl<'de> de::SeqAccess<'de> for Declared {
        type Error = JsonError;

        /// A field left out is `undefined`, which reads as none, `false` or
        /// an empty list (what the server's `skip_serializing_if` leaves
        /// out); any other type names the field as missing.
        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, JsonError> {
            let Some(&field) = self.fields.get(self.next) else {
                return Ok(None);
            };
            self.next += 1;
            let value = Reflect::get(&self.object, &JsValue::from_str(field))
                .map_err(|_| JsonError::Shape)?;
            let missing = value.is_undefined();
            seed.deserialize(Value(value)).map(Some).map_err(|e| {
                if missing {
                    JsonError::MissingField(field)
                } else {
                    e
                }
            })
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.fields.len() - self.next)
        }
    }

    struct Fields {
        object: JsValue,
        keys: Array,
        next: u32,
    }

    impl<'de> de::MapAccess<'de> for Fields {
        type Error = JsonError;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, JsonError> {
            if self.next >= self.keys.length() {
                return Ok(None);
            }
            seed.deserialize(Value(self.keys.get(self.next))).map(Some)
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, JsonError> {
            let key = self.keys.get(self.next);
            self.next += 1;
            let value = Reflect::get(&self.object, &key).map_err(|_| JsonError::Shape)?;
            seed.deserialize(Value(value))
        }
    }

    /// A variant written as a one-field object.
    struct Variant {
        name: String,
        inner: JsValue,
    }

    impl<'de> de::EnumAccess<'de> for Variant {
        type Error = JsonError;
        type Variant = Value;

        fn variant_seed<V: DeserializeSeed<'de>>(
            self,
            seed: V,
        ) -> Result<(V::Value, Value), JsonError> {
            let name = seed.deserialize(self.name.into_deserializer())?;
            Ok((name, Value(self.inner)))
        }
    }

    impl<'de> de::VariantAccess<'de> for Value {
        type Error = JsonError;

        fn unit_variant(self) -> Result<(), JsonError> {
            Err(JsonError::Shape)
        }

        fn newtype_variant_seed<T: DeserializeSeed<'de>>(
            self,
            seed: T,
        ) -> Result<T::Value, JsonError> {
            seed.deserialize(self)
        }

        fn tuple_variant<V: Visitor<'de>>(
            self,
            _len: usize,
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            de::Deserializer::deserialize_any(self, visitor)
        }

        fn struct_variant<V: Visitor<'de>>(
            self,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, JsonError> {
            de::Deserializer::deserialize_struct(self, "", fields, visitor)
        }
    }

    /// Writes a value as the object `JSON.stringify` will write out.
    pub(super) struct ToJs;

    /// `serialize_<number>` methods that write the number as JavaScript's.
    macro_rules! numbers {
        ($($method:ident: $type:ty),+ $(,)?) => {
            $(
                fn $method(self, v: $type) -> Result<JsValue, JsonError> {
                    Ok(JsValue::from_f64(v as f64))
                }
            )+
        };
    }

    impl ser::Serializer for ToJs {
        type Ok = JsValue;
        type Error = JsonError;
        type SerializeSeq = ListOut;
        type SerializeTuple = ListOut;
        type SerializeTupleStruct = ListOut;
        type SerializeTupleVariant = Wrapped<ListOut>;
        type SerializeMap = ObjectOut;
        type SerializeStruct = ObjectOut;
        type SerializeStructVariant = Wrapped<ObjectOut>;

        fn serialize_bool(self, v: bool) -> Result<JsValue, JsonError> {
            Ok(JsValue::from_bool(v))
        }
        // JSON's numbers are JavaScript's: every integer becomes an `f64`
        // (exact up to 2^53, far beyond what a lab request sends).
        numbers! {
            serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
            serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
            serialize_f32: f32, serialize_f64: f64,
        }
        fn serialize_char(self, v: char) -> Result<JsValue, JsonError> {
            Ok(JsValue::from_str(v.encode_utf8(&mut [0; 4])))
        }
        fn serialize_str(self, v: &str) -> Result<JsValue, JsonError> {
            Ok(JsValue::from_str(v))
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<JsValue, JsonError> {
            Ok(v.iter()
                .map(|&b| JsValue::from_f64(b.into()))
                .collect::<Array>()
                .into())
        }
        fn serialize_none(self) -> Result<JsValue, JsonError> {
            Ok(JsValue::NULL)
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<JsValue, JsonError> {
            value.serialize(self)
        }
        fn serialize_unit(self) -> Result<JsValue, JsonError> {
            Ok(JsValue::NULL)
        }
        fn serialize_unit_struct(self, _name: &'static str) -> Result<JsValue, JsonError> {
            Ok(JsValue::NULL)
        }
        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<JsValue, JsonError> {
            Ok(JsValue::from_str(variant))
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result<JsValue, JsonError> {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
            value: &T,
        ) -> Result<JsValue, JsonError> {
            let object = Object::new();
            set(&object, &JsValue::from_str(variant), value.serialize(self)?)?;
            Ok(object.into())
        }
        fn serialize_seq(self, _len: Option<usize>) -> Result<ListOut, JsonError> {
            Ok(ListOut(Array::new()))
        }
        fn serialize_tuple(self, len: usize) -> Result<ListOut, JsonError> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            len: usize,
        ) -> Result<ListOut, JsonError> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
            _len: usize,
        ) -> Result<Wrapped<ListOut>, JsonError> {
            Ok(Wrapped(variant, ListOut(Array::new())))
        }
        fn serialize_map(self, _len: Option<usize>) -> Result<ObjectOut, JsonError> {
            Ok(ObjectOut {
                object: Object::new(),
                key: None,
            })
        }
        fn serialize_struct(self, _name: &'static str, len: usize) -> Result<ObjectOut, JsonError> {
            self.serialize_map(Some(len))
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
            len: usize,
        ) -> Result<Wrapped<ObjectOut>, JsonError> {
            Ok(Wrapped(variant, self.serialize_map(Some(len))?))
        }
    }

    fn set(object: &Object, key: &JsValue, value: JsValue) -> Result<(), JsonError> {
        Reflect::set(object, key, &value)
            .map(drop)
            .map_err(|_| JsonError::Shape)
    }

    pub(super) struct ListOut(Array);

    impl ser::SerializeSeq for ListOut {
        type Ok = JsValue;
        type Error = JsonError;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            self.0.push(&value.serialize(ToJs)?);
            Ok(())
        }
        fn end(self) -> Result<JsValue, JsonError> {
            Ok(self.0.into())
        }
    }

    impl ser::SerializeTuple for ListOut {
        type Ok = JsValue;
        type Error = JsonError;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            ser::SerializeSeq::serialize_element(self, value)
        }
        fn end(self) -> Result<JsValue, JsonError> {
            ser::SerializeSeq::end(self)
        }
    }

    impl ser::SerializeTupleStruct for ListOut {
        type Ok = JsValue;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            ser::SerializeSeq::serialize_element(self, value)
        }
        fn end(self) -> Result<JsValue, JsonError> {
            ser::SerializeSeq::end(self)
        }
    }

    pub(super) struct ObjectOut {
        object: Object,
        key: Option<JsValue>,
    }

    impl ser::SerializeMap for ObjectOut {
        type Ok = JsValue;
        type Error = JsonError;
        fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
            let key = key.serialize(ToJs)?;
            // JSON's keys are text.
            if !key.is_string() {
                return Err(JsonError::Shape);
            }
            self.key = Some(key);
            Ok(())
        }
        fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            let key = self.key.take().ok_or(JsonError::Shape)?;
            set(&self.object, &key, value.serialize(ToJs)?)
        }
        fn end(self) -> Result<JsValue, JsonError> {
            Ok(self.object.into())
        }
    }

    impl ser::SerializeStruct for ObjectOut {
        type Ok = JsValue;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), JsonError> {
            set(
                &self.object,
                &JsValue::from_str(key),
                value.serialize(ToJs)?,
            )
        }
        fn end(self) -> Result<JsValue, JsonError> {
            Ok(self.object.into())
        }
    }

    /// A tuple or struct variant: `{"variant": inner}`.
    pub(super) struct Wrapped<T>(&'static str, T);

    impl<T> Wrapped<T> {
        fn wrap(variant: &'static str, inner: JsValue) -> Result<JsValue, JsonError> {
            let object = Object::new();
            set(&object, &JsValue::from_str(variant), inner)?;
            Ok(object.into())
        }
    }

    impl ser::SerializeTupleVariant for Wrapped<ListOut> {
        type Ok = JsValue;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            ser::SerializeSeq::serialize_element(&mut self.1, value)
        }
        fn end(self) -> Result<JsValue, JsonError> {
            Self::wrap(self.0, self.1 .0.into())
        }
    }

    impl ser::SerializeStructVariant for Wrapped<ObjectOut> {
        type Ok = JsValue;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), JsonError> {
            ser::SerializeStruct::serialize_field(&mut self.1, key, value)
        }
        fn end(self) -> Result<JsValue, JsonError> {
            Self::wrap(self.0, self.1.object.into())
        }
    }
}
