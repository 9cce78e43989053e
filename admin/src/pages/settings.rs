//! A settings form's fields, grouped by section, each with its value, help and error. Used by
//! the campaign and inbound group pages.

use leptos::prelude::*;

use super::FieldError;
use crate::model::Saved;
use crate::schema::{Kind, Setting, SettingsForm};

/// One setting's input. Unchecked boxes are not sent; a missing setting of that kind reads
/// as false on the server.
fn input(setting: &Setting, value: String, form: &SettingsForm) -> AnyView {
    let name = format!("values[{}]", setting.key);
    match setting.kind {
        Kind::Bool => view! { <input type="checkbox" name=name value="true" checked=value == "true"/> }.into_any(),
        Kind::Choice(options) => view! {
            <select name=name>
                {options.iter().map(|o| view! { <option value=*o selected=*o == value>{*o}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        Kind::Lookup(lookup) => {
            let options = form.options(lookup);
            view! {
                <select name=name>
                    <option value="" selected=value.is_empty()>"(none)"</option>
                    {options.into_iter().map(|(id, n)| view! { <option value=id.to_string() selected=id.to_string() == value>{n}</option> }).collect_view()}
                </select>
            }
            .into_any()
        }
        Kind::Text { max, .. } if max > 500 => view! { <textarea name=name rows="6">{value}</textarea> }.into_any(),
        Kind::Text { max, .. } => view! { <input name=name value=value maxlength=max.to_string()/> }.into_any(),
        Kind::Int { min, max, .. } => view! { <input name=name value=value inputmode="numeric" placeholder=format!("{min}–{max}")/> }.into_any(),
        Kind::Decimal { .. } => view! { <input name=name value=value inputmode="decimal"/> }.into_any(),
    }
}

pub fn settings_fields(
    form: &SettingsForm,
    settings: &'static [Setting],
    saved: Signal<Option<Result<Saved, ServerFnError>>>,
) -> impl IntoView {
    let sections = settings
        .iter()
        .fold(Vec::<&'static str>::new(), |mut acc, s| {
            if !acc.contains(&s.section) {
                acc.push(s.section);
            }
            acc
        });
    sections
        .into_iter()
        .map(|section| {
            view! {
                <fieldset>
                    <legend>{section}</legend>
                    {settings.iter().filter(|s| s.section == section).map(|s| view! {
                        <label class="setting">
                            <span class="label">{s.label}</span>
                            {input(s, form.value(s.key), form)}
                            <FieldError result=saved key=s.key/>
                            {(!s.help.is_empty()).then(|| view! { <small>{s.help}</small> })}
                        </label>
                    }).collect_view()}
                </fieldset>
            }
        })
        .collect_view()
}
