//! JSON request bodies: `application/json` only, at most `server.max_body_bytes`, read into a
//! typed value whose parse errors name the member at fault (the path in our own schema, never
//! the value sent). The admin API and registration answer the failures in their own shapes.

use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;
use tessera_shared::oauth::form::{has_media_type, read_body};

/// Why a JSON body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// The content type is not `application/json`.
    NotJson,
    /// Over the size limit (413).
    TooLarge,
    /// The body could not be read; the text is safe to show.
    Unreadable(String),
    /// Not the expected shape: the member at fault (`"."` for the whole body) and the parser's
    /// message.
    Shape { path: String, message: String },
}

/// Reads and parses a JSON body of at most `limit` bytes.
pub async fn read<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, BodyError> {
    if !has_media_type(req, "application/json") {
        return Err(BodyError::NotJson);
    }
    let body = read_body(payload, limit).await.map_err(|e| {
        if e.status == 413 {
            BodyError::TooLarge
        } else {
            BodyError::Unreadable(e.description.into_owned())
        }
    })?;
    parse(&body)
}

/// Parses `body`, naming the member at fault.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| BodyError::Shape {
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}
