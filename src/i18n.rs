//! Message catalogues: one TOML file per language under `web/i18n/`, embedded in the
//! binary. Simplified Chinese is the default; a key missing in another language falls
//! back to Chinese, and a key missing everywhere shows itself (and a test catches it).

use rust_embed::RustEmbed;
use std::collections::HashMap;

#[derive(RustEmbed)]
#[folder = "web/i18n/"]
struct Catalogues;

pub const DEFAULT_LANG: &str = "zh-CN";
/// The languages there is a catalogue for (`web/i18n/{lang}.toml`).
pub const LANGUAGES: &[&str] = &["zh-CN", "en"];

#[derive(Debug)]
pub struct I18n {
    langs: HashMap<String, HashMap<String, String>>,
}

impl I18n {
    pub fn load() -> anyhow::Result<I18n> {
        let mut langs = HashMap::new();
        for file in Catalogues::iter() {
            let Some(lang) = file.strip_suffix(".toml") else {
                continue;
            };
            let data = Catalogues::get(&file).expect("listed by iter");
            let text = std::str::from_utf8(&data.data)?;
            let table: toml::Table =
                toml::from_str(text).map_err(|e| anyhow::anyhow!("web/i18n/{file}: {e}"))?;
            let mut flat = HashMap::new();
            flatten("", &table, &mut flat);
            langs.insert(lang.to_string(), flat);
        }
        anyhow::ensure!(
            langs.contains_key(DEFAULT_LANG),
            "missing {DEFAULT_LANG} catalogue"
        );
        Ok(I18n { langs })
    }

    pub fn languages(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.langs.keys().map(String::as_str).collect();
        v.sort();
        v
    }

    /// A catalogue for one language (unknown languages get the default).
    pub fn messages(&self, lang: &str) -> Messages<'_> {
        let lang = if self.langs.contains_key(lang) {
            lang
        } else {
            DEFAULT_LANG
        };
        Messages {
            lang: lang.to_string(),
            own: &self.langs[lang],
            fallback: &self.langs[DEFAULT_LANG],
            switchable: false,
        }
    }

    /// Keys present in the default catalogue but missing in `lang`.
    pub fn missing_keys(&self, lang: &str) -> Vec<String> {
        let Some(own) = self.langs.get(lang) else {
            return vec![];
        };
        let mut v: Vec<String> = self.langs[DEFAULT_LANG]
            .keys()
            .filter(|k| !own.contains_key(*k))
            .cloned()
            .collect();
        v.sort();
        v
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

pub struct Messages<'a> {
    pub lang: String,
    own: &'a HashMap<String, String>,
    fallback: &'a HashMap<String, String>,
    /// Whether the page is translated, so the layout offers the language switch.
    pub switchable: bool,
}

impl Messages<'_> {
    pub fn get<'k>(&'k self, key: &'k str) -> &'k str {
        self.own
            .get(key)
            .or_else(|| self.fallback.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_covers_every_chinese_key() {
        let i18n = I18n::load().unwrap();
        assert!(i18n.languages().contains(&"en"));
        assert_eq!(i18n.missing_keys("en"), Vec::<String>::new());
        assert_eq!(i18n.messages("en").get("app.name"), "biwu");
        assert_eq!(i18n.messages("fr").lang, "zh-CN");
    }
}
