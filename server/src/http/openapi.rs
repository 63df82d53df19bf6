//! What the OpenAPI document says about every operation alike, written once here as the
//! answers themselves are mapped once in [`ApiError`](crate::http::error::ApiError): the
//! answers that the shared extractors and the server give to any request (a body that is not
//! JSON, a key that is malformed, too many requests, an unreachable store), who must sign in,
//! and how. Handlers document only what is their own.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// A member of staff signed in at `/api/auth/login` (HttpOnly cookie).
pub const STAFF_SESSION: &str = "staff_session";
/// A kiosk or hall screen's device token, as `Authorization: Bearer …`.
pub const DEVICE_TOKEN: &str = "device_token";
/// The same device token as `?token=…`, for a browser's EventSource, which sends no headers.
pub const DEVICE_TOKEN_QUERY: &str = "device_token_query";

/// Adds the security schemes and the shared answers to every operation of `document`.
pub fn complete(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        STAFF_SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "schalter_session",
            "Set by POST /api/auth/login; staff roles: desk, manager, admin.",
        ))),
    );
    components.add_security_scheme(
        DEVICE_TOKEN,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A kiosk's or hall screen's token (`schalter device add`)."))
                .build(),
        ),
    );
    components.add_security_scheme(
        DEVICE_TOKEN_QUERY,
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "token",
            "A hall screen's token in the address, for EventSource.",
        ))),
    );
    for item in document.paths.paths.values_mut() {
        for operation in operations(item) {
            describe_idempotency_key(operation);
            add_shared_answers(operation);
        }
    }
}

/// What [`Idempotency`](crate::http::Idempotency) accepts, wherever a handler lists the header.
fn describe_idempotency_key(operation: &mut Operation) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.name.eq_ignore_ascii_case("idempotency-key") {
            parameter.description = Some(
                "Repeat-safe retries: the same request with the same key answers as the first did; \
                 another request with a used key is refused (422 `idempotency_key_reused`)."
                    .into(),
            );
            parameter.schema = Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(8))
                    .max_length(Some(128))
                    .pattern(Some("^[!-~]+$"))
                    .into(),
            );
        }
    }
}

/// Marks every operation of `document` as needing one of `schemes` (a route layer that checks
/// it guards them all).
pub fn require(document: &mut OpenApi, schemes: &[&str]) {
    for item in document.paths.paths.values_mut() {
        for operation in operations(item) {
            operation.security = Some(
                schemes
                    .iter()
                    .map(|scheme| SecurityRequirement::new(*scheme, Vec::<String>::new()))
                    .collect(),
            );
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn add_shared_answers(operation: &mut Operation) {
    use utoipa::openapi::path::ParameterIn;
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let in_path = parameters.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let in_query = parameters.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let keyed = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("idempotency-key"));
    let body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());

    let answers = &mut operation.responses.responses;
    let mut answer = |status: &str, description: &str, retry: bool| {
        let entry = answers
            .entry(status.to_owned())
            .or_insert_with(|| error(description, retry));
        // Handlers list their own codes without words; the shared ones get them here.
        if matches!(entry, RefOr::T(response) if response.description.is_empty()) {
            *entry = error(description, retry);
        }
    };
    if body {
        answer("400", "The body is not JSON (`malformed_json`).", false);
        answer("413", "The body is larger than 64 KiB (`payload_too_large`).", false);
        answer(
            "415",
            "The body is not sent as `application/json` (`unsupported_media_type`).",
            false,
        );
    }
    if body || in_query || keyed {
        answer(
            "422",
            "The request lacks fields, has wrong types or values (`invalid_body`, `invalid_query`, \
             `invalid_idempotency_key`, `idempotency_key_reused`, or a code of this operation, \
             with `field` where one is to blame).",
            false,
        );
    }
    if secured {
        answer(
            "401",
            "Not signed in, or the token is not valid (`not_signed_in`, `invalid_token`).",
            false,
        );
        answer(
            "403",
            "Signed in, but this role or device may not do this (`forbidden`), or a staff action came \
             from another site (`cross_site_request`).",
            false,
        );
    }
    if in_path {
        answer(
            "404",
            "Nothing at this address (`not_found` or a code of this operation).",
            false,
        );
    }
    answer(
        "429",
        "Too many requests or open connections from this address (`rate_limited`, \
         `too_many_connections`); wait as Retry-After says.",
        true,
    );
    answer(
        "503",
        "The event store is not reachable, or the server holds as many connections as it may \
         (`store_unavailable`, `too_many_connections`, `too_many_streams`); try again after Retry-After.",
        true,
    );
}

fn error(description: &str, retry: bool) -> RefOr<Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    if retry {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(utoipa::openapi::schema::Object::with_type(
                    utoipa::openapi::schema::Type::Integer,
                ))
                .description(Some("Seconds to wait"))
                .build(),
        );
    }
    RefOr::T(response.build())
}
