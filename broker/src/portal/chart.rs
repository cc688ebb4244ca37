//! Charts drawn on the server as SVG, inlined into the page: a line chart over time and a
//! horizontal bar chart. Hand-built rather than with plotters: the portal needs two simple
//! kinds, and doing it here keeps every colour in the stylesheet (classes, no `style`
//! attributes the CSP would refuse), every label escaped, the markup small, and no font
//! machinery in the binary.
//!
//! They work without JavaScript: every bucket of a line chart is a column whose `<title>` the
//! browser shows on hover (time and every value). `portal.js`, where it runs, adds a readout
//! under the chart that follows the pointer.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::usage::Interval;

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
/// Bar charts sit in half-width boxes: a narrower drawing keeps their text at the same size.
const BARS_W: f64 = 440.0;

/// One line: its legend label, its CSS class (`s1`…`s4`) and a value per bucket (`None`: no
/// value there, the line breaks).
#[derive(Debug)]
pub struct Line<'a> {
    pub label: &'a str,
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// A round upper bound for the y axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * p)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

fn time_label(ms: i64, interval: Interval) -> String {
    let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    match interval {
        Interval::Minute | Interval::Hour => t.format("%H:%M").to_string(),
        Interval::Day => t.format("%m-%d").to_string(),
    }
}

/// A line chart of `lines` over the buckets starting at `starts_ms`.
pub fn lines(
    title: &str,
    unit: &str,
    starts_ms: &[i64],
    interval: Interval,
    lines: &[Line],
) -> String {
    let n = starts_ms.len().max(1);
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .fold(0.0f64, |a, b| a.max(*b));
    let top = nice(max);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |i: usize| LEFT + pw * (i as f64 + 0.5) / n as f64;
    let y = |v: f64| TOP + ph * (1.0 - v / top);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        attr(title)
    );
    for k in 0..=4 {
        let v = top * f64::from(k) / 4.0;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            text(&number(v)),
            y = y(v),
        );
    }
    let ticks = 6.min(n);
    for t in 0..ticks {
        let i = t * (n - 1).max(1) / (ticks - 1).max(1);
        if let Some(ms) = starts_ms.get(i) {
            let _ = write!(
                s,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x(i),
                H - 8.0,
                time_label(*ms, interval)
            );
        }
    }
    for l in lines {
        marks(&mut s, l, &x, &y);
    }
    columns(&mut s, starts_ms, unit, lines, (pw / n as f64, ph));
    s.push_str("</svg>");
    s.push_str(&legend(lines));
    s
}

/// One line's path (broken where a value is missing), and a dot for each value with no
/// neighbour, which draws no segment.
fn marks(s: &mut String, l: &Line, x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64) {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in l.values.iter().enumerate() {
        match v {
            Some(v) => {
                let pen = if pen_down { "L" } else { "M" };
                let _ = write!(d, "{pen}{:.1},{:.1} ", x(i), y(*v));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !d.is_empty() {
        let _ = write!(
            s,
            "<path class=\"line {}\" d=\"{}\"/>",
            l.class,
            d.trim_end()
        );
    }
    for i in lone(&l.values) {
        let v = l.values[i].unwrap_or(0.0);
        let _ = write!(
            s,
            "<circle class=\"dot {}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
            l.class,
            x(i),
            y(v)
        );
    }
}

/// The indices of the values whose neighbours both have none.
fn lone(values: &[Option<f64>]) -> Vec<usize> {
    let has = |i: Option<usize>| i.and_then(|i| values.get(i)).is_some_and(|v| v.is_some());
    (0..values.len())
        .filter(|&i| has(Some(i)) && !has(i.checked_sub(1)) && !has(Some(i + 1)))
        .collect()
}

/// The hover columns: one per bucket, titled with its time and values.
fn columns(s: &mut String, starts_ms: &[i64], unit: &str, lines: &[Line], (cw, ph): (f64, f64)) {
    for (i, ms) in starts_ms.iter().enumerate() {
        let mut tip = DateTime::<Utc>::from_timestamp_millis(*ms)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        for l in lines {
            let v = l.values.get(i).copied().flatten();
            let v = v
                .map(|v| format!("{}{unit}", number(v)))
                .unwrap_or("—".into());
            let _ = write!(tip, " · {}: {v}", l.label);
        }
        let _ = write!(
            s,
            "<rect class=\"col\" x=\"{:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{ph:.1}\" \
             data-tip=\"{}\"><title>{}</title></rect>",
            LEFT + cw * i as f64,
            cw,
            attr(&tip),
            text(&tip)
        );
    }
}

fn legend(lines: &[Line]) -> String {
    let mut s = String::from("<ul class=\"legend\">");
    for l in lines {
        let _ = write!(s, "<li class=\"{}\">{}</li>", l.class, text(l.label));
    }
    s.push_str("</ul><p class=\"readout\" aria-live=\"polite\"></p>");
    s
}

/// Horizontal bars, one per item (label, value), largest scale first as given; at most 12.
pub fn bars(title: &str, items: &[(String, u64)], class: &'static str) -> String {
    let items = &items[..items.len().min(12)];
    if items.is_empty() {
        return "<p class=\"empty\">No calls in this range.</p>".into();
    }
    let row = 24.0;
    let h = row * items.len() as f64 + 8.0;
    let label_w = 130.0;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1) as f64;
    let bar_w = BARS_W - label_w - 60.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart bars\" viewBox=\"0 0 {BARS_W} {h}\" role=\"img\" aria-label=\"{}\">",
        attr(title)
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let w = (bar_w * *v as f64 / max).max(1.0);
        let short: String = label.chars().take(20).collect();
        let _ = write!(
            s,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar {class}\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" \
             height=\"{:.1}\"><title>{}: {v}</title></rect>\
             <text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{v}</text>",
            label_w - 8.0,
            y + 15.0,
            text(&short),
            row - 6.0,
            text(label),
            label_w + w + 6.0,
            y + 15.0,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round_and_labels_escaped() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(13.0), 20.0);
        assert_eq!(nice(420.0), 500.0);
        let svg = bars("t", &[("<script>".into(), 3), ("b".into(), 1)], "s1");
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        let line = Line {
            label: "calls\"",
            class: "s1",
            values: vec![Some(1.0), None, Some(3.0)],
        };
        let svg = lines("x", "", &[0, 60_000, 120_000], Interval::Minute, &[line]);
        assert_eq!(svg.matches("<rect class=\"col\"").count(), 3);
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(
            d.matches('M').count(),
            2,
            "the line breaks where a value is missing"
        );
        assert_eq!(
            svg.matches("<circle class=\"dot s1\"").count(),
            2,
            "lone values"
        );
        assert!(!svg.contains("style="));
        assert!(svg.contains("calls&quot;"));
    }
}
