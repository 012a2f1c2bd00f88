//! The only module that touches browser APIs beyond rendering: URL hash, downloads, files, timers,
//! clipboard and performance marks (gloo's crates where they fit).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// The browser's `CompressionStream` (a standard Web API; web-sys offers it only behind its
    /// unstable-APIs flag).
    type CompressionStream;

    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<CompressionStream, JsValue>;

    /// The browser's `DecompressionStream`, likewise.
    type DecompressionStream;

    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<DecompressionStream, JsValue>;
}

/// Why raw deflate could not be inflated.
pub enum InflateFailure {
    /// It inflates to more than the limit (reading stopped there).
    TooLarge,
    /// It is not raw deflate, or is cut off.
    Broken,
}

/// Inflates raw deflate with the browser's own decompressor, reading at most `limit` bytes, so that
/// the site carries no inflater of its own and a small link cannot expand into a large allocation.
pub async fn inflate_raw(bytes: &[u8], limit: usize) -> Result<Vec<u8>, InflateFailure> {
    let pair = DecompressionStream::new("deflate-raw").map_err(|_| InflateFailure::Broken)?;
    transform(pair.unchecked_into(), bytes, limit).await
}

/// Compresses bytes to raw deflate with the browser's own compressor, so that the site carries no
/// deflate encoder of its own (a share link decodes the same whichever encoder packed it).
pub async fn deflate_raw(bytes: &[u8]) -> Result<Vec<u8>, JsValue> {
    let pair = CompressionStream::new("deflate-raw")?;
    transform(pair.unchecked_into(), bytes, usize::MAX)
        .await
        .map_err(|_| JsValue::from_str("the browser could not compress the link"))
}

/// Runs bytes through a `{readable, writable}` transform stream and reads what comes out, at most
/// `limit` bytes. The bytes are written straight into the stream (not read from a Blob, which goes
/// through the browser's blob store and cost a 1024-CPU link 17 ms). The write and the close settle as
/// the stream is drained, or reject when it fails: both are awaited at the end, so that no rejection
/// goes unhandled.
async fn transform(
    pair: web_sys::ReadableWritablePair,
    bytes: &[u8],
    limit: usize,
) -> Result<Vec<u8>, InflateFailure> {
    let writer = pair
        .get_writable()
        .get_writer()
        .map_err(|_| InflateFailure::Broken)?;
    let write = JsFuture::from(writer.write_with_chunk(&js_sys::Uint8Array::from(bytes)));
    let close = JsFuture::from(writer.close());
    let result = drain(&pair.get_readable(), limit).await;
    let _ = write.await;
    let _ = close.await;
    result
}

/// Reads a stream to its end, or until it would hold more than `limit` bytes.
async fn drain(stream: &web_sys::ReadableStream, limit: usize) -> Result<Vec<u8>, InflateFailure> {
    let broken = |_| InflateFailure::Broken;
    let reader = web_sys::ReadableStreamDefaultReader::new(stream).map_err(broken)?;
    let mut out = Vec::new();
    loop {
        let chunk: web_sys::ReadableStreamReadResult = JsFuture::from(reader.read())
            .await
            .map_err(broken)?
            .unchecked_into();
        if chunk.get_done().unwrap_or(true) {
            return Ok(out);
        }
        let chunk: js_sys::Uint8Array = chunk.get_value().unchecked_into();
        if out.len() + chunk.length() as usize > limit {
            let _ = JsFuture::from(reader.cancel()).await;
            return Err(InflateFailure::TooLarge);
        }
        out.extend(chunk.to_vec());
    }
}

/// Returns the page's URL fragment, `#` included, if it is a share link, damaged or not (see
/// [`is_link`]).
pub fn current_hash() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    is_link(&hash).then_some(hash)
}

/// Whether a fragment is meant as a share link: anything but a plain anchor name (`#section-2`,
/// `#top`: a letter, then letters, digits, `-` and `_`), which is not "damaged" but no link at all.
/// `#v` and a digit is always a link (`#v1` is one cut short).
fn is_link(fragment: &str) -> bool {
    let Some(name) = fragment.strip_prefix('#').filter(|n| !n.is_empty()) else {
        return false;
    };
    let versioned = name
        .strip_prefix('v')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    let anchor = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    versioned || !anchor
}

thread_local! {
    /// While a link the page was loaded with could not be opened: the page's own link when it first
    /// came (`None` until then). The address bar keeps the damaged link until the page's link changes.
    static KEPT: std::cell::RefCell<Option<Option<String>>> = const { std::cell::RefCell::new(None) };
}

/// Keeps the fragment the page was loaded with in the address bar, where the user can see and copy
/// it, until the page's own link changes (the user changed something): a damaged link is not
/// replaced by the example's link at once.
pub fn keep_hash() {
    if web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .is_some_and(|h| is_link(&h))
    {
        KEPT.with(|k| *k.borrow_mut() = Some(None));
    }
}

/// Replaces the URL fragment without adding a history entry (unless a damaged link is kept, see
/// [`keep_hash`]).
pub fn replace_hash(fragment: &str) {
    let kept = KEPT.with(|k| {
        let mut k = k.borrow_mut();
        match k.as_mut() {
            None => false,
            // The page's first link: the damaged one stays.
            Some(first @ None) => {
                *first = Some(fragment.to_string());
                true
            }
            Some(Some(first)) if first == fragment => true,
            Some(Some(_)) => {
                *k = None;
                false
            }
        }
    });
    if kept {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    if window.location().hash().ok().as_deref() == Some(fragment) {
        return;
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(fragment));
    }
}

/// Takes the focus to the element with this id and scrolls it into view.
pub fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// Returns the full address of the page with this fragment.
pub fn address_with(fragment: &str) -> String {
    let Some(window) = web_sys::window() else {
        return fragment.to_string();
    };
    let location = window.location();
    let base = format!(
        "{}{}{}",
        location.origin().unwrap_or_default(),
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    format!("{base}{fragment}")
}

/// Offers `content` as a file download named `name`.
pub fn download(name: &str, content: &str) {
    let result = (|| -> Result<(), JsValue> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let blob = gloo_file::Blob::new_with_options(content, Some("application/octet-stream"));
        // The object URL is revoked when `url` is dropped, once the click has started the download.
        let url = gloo_file::ObjectUrl::from(blob);
        let anchor: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
        Ok(())
    })();
    if let Err(e) = result {
        web_sys::console::error_1(&e);
    }
}

/// Marks the element an event is handled on as having a file dragged over it (class `dragging`),
/// directly on the DOM: a reactive signal for it would cost the site a kilobyte.
pub fn mark_dragging(event: &web_sys::DragEvent, on: bool) {
    if let Some(element) = event.current_target() {
        let element: web_sys::Element = element.unchecked_into();
        let _ = element.class_list().toggle_with_force("dragging", on);
    }
}

/// Copies text to the clipboard, and has the clicked button say "Copied" for two seconds (directly
/// on the DOM, as `mark_dragging` does); the page's live region (`#announce`, in index.html) says
/// what was copied, so that a screen reader hears it ("Copied kernel-cmdline.txt").
pub fn copy(click: &web_sys::MouseEvent, text: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let _ = window.navigator().clipboard().write_text(text);
    let Some(button) = click.current_target() else {
        return;
    };
    let button: web_sys::Element = button.unchecked_into();
    let label = button.text_content();
    button.set_text_content(Some("Copied"));
    let what = button
        .get_attribute("aria-label")
        .and_then(|l| l.strip_prefix("Copy ").map(str::to_string));
    let region = announce(&match what {
        Some(what) => format!("Copied {what}"),
        None => "Copied".to_string(),
    });
    gloo_timers::callback::Timeout::new(2000, move || {
        button.set_text_content(label.as_deref());
        if let Some(region) = region {
            region.set_text_content(None);
        }
    })
    .forget();
}

/// Says a short text in the page's live region (`#announce`, in index.html), which a screen reader
/// reads out; returns the region.
pub fn announce(text: &str) -> Option<web_sys::Element> {
    let region = web_sys::window()?
        .document()?
        .get_element_by_id("announce")?;
    region.set_text_content(Some(text));
    Some(region)
}

/// Sets a performance mark, for the browser benchmarks.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Reads a file chosen or dropped by the user as text.
pub async fn read_text(file: web_sys::File) -> Result<String, String> {
    gloo_file::futures::read_as_text(&gloo_file::Blob::from(file))
        .await
        .map_err(|e| e.to_string())
}

/// Runs `f` in a task of its own, after the browser has had a chance to paint.
pub fn later(f: impl FnOnce() + 'static) {
    gloo_timers::callback::Timeout::new(0, f).forget();
}

/// Selects line `line` (from 1) of the text area `id`, focuses it and scrolls the line into view: the
/// place of a finding in the pasted domain.
pub fn select_line(id: &str, line: usize) {
    let Some(area) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    else {
        return;
    };
    let area: web_sys::HtmlTextAreaElement = area.unchecked_into();
    let text = area.value();
    // The text area counts in UTF-16 code units.
    let (mut start, mut end, mut lines) = (0u32, 0u32, 0u32);
    for (i, l) in text.split('\n').enumerate() {
        let len = l.encode_utf16().count() as u32;
        if i + 1 < line {
            start += len + 1;
        } else if i + 1 == line {
            end = start + len;
        }
        lines += 1;
    }
    let _ = area.focus();
    let _ = area.set_selection_range(start, end.max(start));
    // Lines are as high as each other: the line goes a third of the way down the box.
    let top = f64::from(area.scroll_height()) * (line.saturating_sub(1) as f64) / f64::from(lines)
        - f64::from(area.client_height()) / 3.0;
    area.set_scroll_top(top.max(0.0) as i32);
}
