//! Text helpers shared by parsing, chunking and answering.

/// Splits Chinese text into sentences, keeping terminators (。！？ and line ends) and any
/// closing quotes that follow them. Never returns empty pieces.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let terminator = matches!(c, '。' | '！' | '？' | '!' | '?' | '\n');
        if !terminator {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, n)) = chars.peek() {
            if matches!(n, '”' | '’' | '」' | '』' | '）' | ')') {
                end = j + n.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let piece = text[start..end].trim();
        if !piece.is_empty() {
            out.push(piece);
        }
        start = end;
    }
    let tail = text[start..].trim();
    if !tail.is_empty() {
        out.push(tail);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_terminators_and_quotes() {
        let s = split_sentences("他说：“好。”然后走了！是吗？最后一句");
        assert_eq!(s, vec!["他说：“好。”", "然后走了！", "是吗？", "最后一句"]);
    }
}
