use std::io::Write;

use dwt_index::Hit;

/// One line to stdout (the lint forbids `println!` so output stays deliberate).
pub fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
}

pub fn err(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
}

/// The stable `search --json` shape.
pub fn search_json(hits: &[Hit]) -> serde_json::Value {
    serde_json::json!({
        "hits": hits.iter().map(|h| serde_json::json!({
            "doc_title": h.doc_title,
            "article": h.article,
            "heading_path": h.heading_path,
            "chunk_id": h.chunk_id,
            "score": h.score,
            "text": h.text,
        })).collect::<Vec<_>>()
    })
}

pub fn print_hits(hits: &[Hit]) {
    if hits.is_empty() {
        out("没有找到相关内容。");
        return;
    }
    for (i, h) in hits.iter().enumerate() {
        let article = h.article.as_deref().unwrap_or("");
        let ranks = format!(
            "BM25 {} · 向量 {}",
            h.bm25_rank.map(|r| format!("#{r}")).unwrap_or_else(|| "-".into()),
            h.dense_rank.map(|r| format!("#{r}")).unwrap_or_else(|| "-".into())
        );
        out(&format!("[{}] 《{}》{}  {}  (得分 {:.4}；{})", i + 1, h.doc_title, article, h.heading_path.join(" / "), h.score, ranks));
        let snippet = h.snippet.replace("<em>", "【").replace("</em>", "】").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        out(&format!("    {}", snippet.replace('\n', " ")));
    }
}
