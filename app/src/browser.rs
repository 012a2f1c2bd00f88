//! The only module that touches browser APIs beyond rendering: URL hash, downloads, clipboard and
//! performance marks.

use wasm_bindgen::JsValue;

/// Returns the page's URL fragment, `#` included, if any.
pub fn current_hash() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    (!hash.is_empty()).then_some(hash)
}

/// Replaces the URL fragment without adding a history entry.
pub fn replace_hash(fragment: &str) {
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
        let window = web_sys::window().ok_or("no window")?;
        let document = window.document().ok_or("no document")?;
        let parts = js_sys::Array::of1(&JsValue::from_str(content));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("application/octet-stream");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
        let url = web_sys::Url::create_object_url_with_blob(&blob)?;
        let anchor: web_sys::HtmlAnchorElement =
            wasm_bindgen::JsCast::unchecked_into(document.create_element("a")?);
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
        web_sys::Url::revoke_object_url(&url)?;
        Ok(())
    })();
    if let Err(e) = result {
        web_sys::console::error_1(&e);
    }
}

/// Copies text to the clipboard.
pub fn copy(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// Sets a performance mark, for the browser benchmarks.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Reads a file chosen or dropped by the user as text.
pub async fn read_text(file: &web_sys::File) -> Result<String, String> {
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .map_err(|e| e.as_string().unwrap_or_else(|| "unknown error".into()))?;
    text.as_string().ok_or_else(|| "it is not text".into())
}
