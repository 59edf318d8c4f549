//! The static pages of `web/`, embedded in the binary at build time.

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web/"]
// Browser tests and their node_modules are not part of the product.
#[exclude = "tests/*"]
struct Web;

pub async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    // A folder path serves its index.html (`/` and `/admin/`).
    let indexed;
    let path = if path.is_empty() || path.ends_with('/') {
        indexed = format!("{path}index.html");
        indexed.as_str()
    } else {
        path
    };
    if path.starts_with("api/") {
        return crate::ApiError::not_found("request.not_found", "接口不存在").into_response();
    }
    match Web::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            ([(header::CONTENT_TYPE, mime.as_ref().to_string()), (header::CACHE_CONTROL, "no-cache".to_string())], file.data.into_owned()).into_response()
        }
        None => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "页面不存在").into_response(),
    }
}
