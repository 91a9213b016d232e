//! The labs' API reference page, read from their OpenAPI document: what
//! the page shows is exactly what `/api/openapi.json` promises, because it
//! is made from it.

use model::{
    ApiReference, ReferenceBody, ReferenceField, ReferenceOperation, ReferenceResponse,
    ReferenceSchema, ReferenceSection,
};
use serde_json::{Map, Value};

use super::contract::OPENAPI_PATH;

/// HTTP methods in the order a reference lists them.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// The reference of `document`, an OpenAPI 3.1 document as JSON, with one
/// section per `(tag, title)` in `labs`.
pub(crate) fn reference(document: &Value, labs: &[(&str, &str)]) -> ApiReference {
    let mut sections: Vec<ReferenceSection> = labs
        .iter()
        .map(|(name, title)| ReferenceSection {
            name: (*name).to_string(),
            title: (*title).to_string(),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in object(document.get("paths")) {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let tag = operation["tags"][0].as_str().unwrap_or_default();
            if let Some(section) = sections.iter_mut().find(|s| s.name == tag) {
                section
                    .operations
                    .push(operation_of(path, method, operation));
            }
        }
    }
    ApiReference {
        document_url: OPENAPI_PATH.to_string(),
        openapi_version: text(document.get("openapi")),
        labs: sections,
        schemas: object(document.pointer("/components/schemas"))
            .map(|(name, schema)| schema_of(name, schema))
            .collect(),
    }
}

fn operation_of(path: &str, method: &str, operation: &Value) -> ReferenceOperation {
    ReferenceOperation {
        id: text(operation.get("operationId")),
        method: method.to_uppercase(),
        path: path.to_string(),
        summary: text(operation.get("summary")),
        description: text(operation.get("description")),
        parameters: array(operation.get("parameters"))
            .map(|parameter| {
                let (shape, schema) = shape_of(&parameter["schema"]);
                ReferenceField {
                    name: text(parameter.get("name")),
                    location: text(parameter.get("in")),
                    shape,
                    schema,
                    required: parameter["required"].as_bool().unwrap_or(false),
                    description: text(parameter.get("description")),
                }
            })
            .collect(),
        request: operation.get("requestBody").and_then(body_of),
        responses: object(operation.get("responses"))
            .map(|(status, response)| ReferenceResponse {
                status: status.to_string(),
                description: text(response.get("description")),
                body: body_of(response),
                headers: object(response.get("headers"))
                    .map(|(name, header)| {
                        let (shape, schema) = shape_of(&header["schema"]);
                        ReferenceField {
                            name: name.to_string(),
                            shape,
                            schema,
                            description: text(header.get("description")),
                            ..ReferenceField::default()
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The first media type of a request or response body.
fn body_of(holder: &Value) -> Option<ReferenceBody> {
    let (content_type, media) = object(holder.get("content")).next()?;
    let (shape, schema) = shape_of(&media["schema"]);
    Some(ReferenceBody {
        content_type: content_type.to_string(),
        shape,
        schema,
    })
}

fn schema_of(name: &str, schema: &Value) -> ReferenceSchema {
    let required: Vec<&str> = array(schema.get("required"))
        .filter_map(Value::as_str)
        .collect();
    let fields = object(schema.get("properties"))
        .map(|(field, property)| {
            let (shape, schema) = shape_of(property);
            ReferenceField {
                name: field.to_string(),
                shape,
                schema,
                required: required.contains(&field.as_str()),
                description: text(property.get("description")),
                ..ReferenceField::default()
            }
        })
        .collect();
    ReferenceSchema {
        name: name.to_string(),
        description: text(schema.get("description")),
        shape: shape_of(schema).0,
        fields,
    }
}

/// A schema as a short text (`integer`, `string | null`, `Order[]`), and
/// the named schema it refers to, if any.
fn shape_of(schema: &Value) -> (String, Option<String>) {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return (name.to_string(), Some(name.to_string()));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        return (values.join(" | "), None);
    }
    for combined in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combined].as_array() {
            let shapes: Vec<_> = parts.iter().map(shape_of).collect();
            let named = shapes.iter().find_map(|(_, named)| named.clone());
            let text: Vec<String> = shapes.into_iter().map(|(text, _)| text).collect();
            return (text.join(" | "), named);
        }
    }
    let one = |kind: &str| match kind {
        "array" => {
            let (items, named) = shape_of(&schema["items"]);
            (format!("{items}[]"), named)
        }
        other => (other.to_string(), None),
    };
    match &schema["type"] {
        Value::String(kind) => one(kind),
        Value::Array(kinds) => {
            let shapes: Vec<_> = kinds.iter().filter_map(Value::as_str).map(one).collect();
            let named = shapes.iter().find_map(|(_, named)| named.clone());
            let text: Vec<String> = shapes.into_iter().map(|(text, _)| text).collect();
            (text.join(" | "), named)
        }
        _ => ("any".to_string(), None),
    }
}

fn object(value: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::iter)
}

fn array(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

fn text(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shapes_read_as_people_write_types() {
        assert_eq!(
            shape_of(&json!({"type": "integer", "format": "int64"})).0,
            "integer"
        );
        assert_eq!(
            shape_of(&json!({"type": ["string", "null"]})).0,
            "string | null"
        );
        assert_eq!(
            shape_of(
                &json!({"type": "array", "items": {"$ref": "#/components/schemas/OrderLine"}})
            ),
            ("OrderLine[]".to_string(), Some("OrderLine".to_string()))
        );
        assert_eq!(
            shape_of(&json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Job"}]})),
            ("null | Job".to_string(), Some("Job".to_string()))
        );
        assert_eq!(
            shape_of(&json!({"type": "string", "enum": ["running", "done"]})).0,
            "\"running\" | \"done\""
        );
    }

    #[test]
    fn operations_land_in_their_lab_with_parameters_bodies_and_headers() {
        let document = json!({
            "openapi": "3.1.0",
            "paths": {"/labs/api/orders/{id}": {"get": {
                "tags": ["api"], "operationId": "api_read", "summary": "One order",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "The order",
                    "headers": {"ETag": {"schema": {"type": "string"}, "description": "version"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}}
            }}},
            "components": {"schemas": {"Order": {"type": "object", "required": ["id"],
                "properties": {"id": {"type": "integer"}, "note": {"type": ["string", "null"]}}}}}
        });
        let reference = reference(&document, &[("http", "HTTP"), ("api", "APIs")]);
        assert!(reference.labs[0].operations.is_empty());
        let read = &reference.labs[1].operations[0];
        assert_eq!(
            (read.method.as_str(), read.id.as_str()),
            ("GET", "api_read")
        );
        assert_eq!(read.parameters[0].location, "path");
        assert_eq!(
            read.responses[0]
                .body
                .as_ref()
                .and_then(|b| b.schema.clone()),
            Some("Order".into())
        );
        assert_eq!(read.responses[0].headers[0].name, "ETag");
        let order = &reference.schemas[0];
        assert_eq!(
            (order.fields[0].required, order.fields[1].required),
            (true, false)
        );
    }
}
