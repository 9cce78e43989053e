//! Small SVG charts, drawn by the same Rust code on the server and in the browser (no chart
//! library, no script): stacked columns with an optional line on its own scale, and stacked
//! horizontal bars. Colours come from the stylesheet (`.s0`... per series).

use leptos::prelude::*;

/// One stacked part of every bar: its legend name and a value per bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

impl Series {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            values,
        }
    }
}

/// A line over the columns on its own scale (right axis, 0 to `max`), with an optional dashed
/// limit (say, a rate against its legal cap).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub values: Vec<f64>,
    pub max: f64,
    pub limit: Option<(String, f64)>,
    pub unit: &'static str,
}

const WIDTH: f64 = 960.0;

/// The top of an axis: `v` rounded up to 1, 2 or 5 times a power of ten.
pub fn nice_max(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let step = 10f64.powi(v.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * step)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * step)
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The legend under a chart: a colour key per series (and the line's, when there is one).
fn legend(names: Vec<String>, line: Option<String>) -> impl IntoView {
    view! {
        <p class="legend">
            {names.into_iter().enumerate().map(|(k, name)| view! { <span><i class=format!("key s{k}")></i>{name}</span> }).collect_view()}
            {line.map(|name| view! { <span><i class="key line"></i>{name}</span> })}
        </p>
    }
}

/// Stacked columns, one per label, with `series` stacked bottom up; `line` on a right axis.
pub fn columns(
    title: &str,
    labels: Vec<String>,
    series: Vec<Series>,
    line: Option<Line>,
) -> impl IntoView {
    let (height, left, right, top, bottom) = (240.0, 44.0, 52.0, 10.0, 30.0);
    let n = labels.len().max(1);
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let (plot_w, plot_h) = (WIDTH - left - right, height - top - bottom);
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.72).max(1.0);
    let y =
        move |v: f64, top_of_scale: f64| top + plot_h - (v / top_of_scale).clamp(0.0, 1.0) * plot_h;
    let every = n.div_ceil(16);
    let grid = [0.0, max / 2.0, max].map(|g| {
        view! {
            <line class="grid" x1=num(left) x2=num(WIDTH - right) y1=num(y(g, max)) y2=num(y(g, max))/>
            <text class="axis" x=num(left - 6.0) y=num(y(g, max) + 4.0) text-anchor="end">{short(g)}</text>
        }
    });
    let bars = (0..n).map(|i| {
        let x = left + slot * i as f64 + (slot - bar_w) / 2.0;
        let label = labels.get(i).cloned().unwrap_or_default();
        let mut base = 0.0;
        let parts = series
            .iter()
            .enumerate()
            .filter_map(|(k, s)| {
                let v = s.values.get(i).copied().unwrap_or(0.0);
                if v <= 0.0 {
                    return None;
                }
                let (y0, y1) = (y(base, max), y(base + v, max));
                base += v;
                let tip = format!("{label} · {}: {}", s.name, short(v));
                Some(view! { <rect class=format!("s{k}") x=num(x) y=num(y1) width=num(bar_w) height=num(y0 - y1)><title>{tip}</title></rect> })
            })
            .collect_view();
        let tick = (i % every == 0).then(|| {
            view! { <text class="axis" x=num(x + bar_w / 2.0) y=num(height - bottom + 16.0) text-anchor="middle">{label.clone()}</text> }
        });
        view! { <g>{parts}{tick}</g> }
    });
    let line_name = line.as_ref().map(|l| l.name.clone());
    let overlay = line.map(|l| {
        let top_of_scale = nice_max(l.max.max(l.limit.as_ref().map_or(0.0, |(_, v)| *v)));
        let points = l
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{},{}", num(left + slot * (i as f64 + 0.5)), num(y(*v, top_of_scale))))
            .collect::<Vec<_>>()
            .join(" ");
        let limit = l.limit.map(|(name, v)| {
            view! {
                <line class="limit" x1=num(left) x2=num(WIDTH - right) y1=num(y(v, top_of_scale)) y2=num(y(v, top_of_scale))><title>{format!("{name}: {v}{}", l.unit)}</title></line>
            }
        });
        view! {
            {limit}
            <polyline class="line" points=points/>
            <text class="axis" x=num(WIDTH - right + 6.0) y=num(y(top_of_scale, top_of_scale) + 4.0)>{format!("{}{}", short(top_of_scale), l.unit)}</text>
            <text class="axis" x=num(WIDTH - right + 6.0) y=num(y(0.0, top_of_scale) + 4.0)>{format!("0{}", l.unit)}</text>
        }
    });
    let names = series.iter().map(|s| s.name.clone()).collect();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=title.to_string()>
                {grid}
                {bars.collect_view()}
                {overlay}
            </svg>
            {legend(names, line_name)}
        </figure>
    }
}

/// Stacked horizontal bars, one per label, on a scale to `max` (or the largest total);
/// `show` writes a value (the total at a bar's end, each part in its tooltip).
pub fn bars(
    title: &str,
    labels: Vec<String>,
    series: Vec<Series>,
    max: Option<f64>,
    show: fn(f64) -> String,
) -> impl IntoView {
    let (row_h, left, right, top) = (24.0, 150.0, 90.0, 6.0);
    let n = labels.len();
    let height = top * 2.0 + row_h * n.max(1) as f64;
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let scale = max.unwrap_or_else(|| nice_max(totals.iter().copied().fold(0.0, f64::max)));
    let plot_w = WIDTH - left - right;
    let x = move |v: f64| left + (v / scale).clamp(0.0, 1.0) * plot_w;
    let rows = (0..n).map(|i| {
        let y = top + row_h * i as f64;
        let label = labels.get(i).cloned().unwrap_or_default();
        let mut base = 0.0;
        let parts = series
            .iter()
            .enumerate()
            .filter_map(|(k, s)| {
                let v = s.values.get(i).copied().unwrap_or(0.0);
                if v <= 0.0 {
                    return None;
                }
                let (x0, x1) = (x(base), x(base + v));
                base += v;
                let tip = format!("{label} · {}: {}", s.name, show(v));
                Some(view! { <rect class=format!("s{k}") x=num(x0) y=num(y + 3.0) width=num(x1 - x0) height=num(row_h - 6.0)><title>{tip}</title></rect> })
            })
            .collect_view();
        let total = totals.get(i).copied().unwrap_or(0.0);
        view! {
            <g>
                <text class="axis" x=num(left - 8.0) y=num(y + row_h / 2.0 + 4.0) text-anchor="end">{label.chars().take(22).collect::<String>()}</text>
                {parts}
                <text class="axis" x=num(x(total) + 6.0) y=num(y + row_h / 2.0 + 4.0)>{show(total)}</text>
            </g>
        }
    });
    let names: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
    let keyed = names.len() > 1;
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=title.to_string()>
                <line class="grid" x1=num(left) x2=num(left) y1="0" y2=num(height)/>
                {rows.collect_view()}
            </svg>
            {keyed.then(|| legend(names, None))}
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::nice_max;

    #[test]
    fn axis_tops() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(13.0), 20.0);
        assert_eq!(nice_max(420.0), 500.0);
        assert_eq!(nice_max(3.0), 5.0);
    }
}
