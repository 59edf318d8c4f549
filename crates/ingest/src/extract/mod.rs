//! Article extraction from fetched or saved pages: configured selectors first, a
//! readability-style fallback, WeChat article pages, and publish-date normalisation.

mod article;
mod docx;
mod pdf;
mod dates;
mod text;
mod wechat;

pub use docx::docx_text;
pub use pdf::pdf_text;
pub use article::{check_selector, extract_article, extract_links, ArticleRules, Confidence, Extracted, ExtractError};
pub use dates::{from_unix, normalize_date, shanghai};
pub use wechat::{looks_like_wechat, parse_wechat, WechatArticle, WechatPage};
