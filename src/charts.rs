//! Server-rendered SVG charts for the programme dashboards and roll-ups.
//!
//! Charts are drawn here, as strings, rather than in the browser: pages work without
//! JavaScript, and the Content-Security-Policy stays strict. That policy forbids `style`
//! attributes and `<style>` elements, so everything is drawn with SVG presentation attributes
//! (`fill`, `stroke`, `font-size`, …) plus `medopt-chart__…` classes for the stylesheet to
//! hook on to. Templates output the result with `|safe`, so every piece of text that goes in
//! is escaped here, and every id is reduced to safe characters.
//!
//! Colours have at least 3:1 contrast against white, and the two series also differ in shape
//! (the plan is dashed, the actuals are solid with a dot per month) so colour is never the only
//! way to tell them apart. Charts carry a `<title>` and `<desc>`; the page should still show the
//! figures in a table, which is the accessible version.

mod deciles;
mod percent_bars;

use std::fmt::Write as _;

use chrono::Datelike;

pub use deciles::{DecileLabels, DecilePoint, decile_chart};
pub use percent_bars::{PercentBar, ReferenceLine, percent_bars};

use crate::domain::{CumulativePoint, Pence};

/// NHS blue: the plan.
const PLAN_COLOUR: &str = "#005eb8";
/// NHS dark green: the actuals.
const ACTUAL_COLOUR: &str = "#007f3b";
/// NHS text colour: labels and the zero line.
const TEXT_COLOUR: &str = "#212b32";
/// NHS mid grey (3.7:1 on white): gridlines and empty placeholders.
const GRID_COLOUR: &str = "#768692";

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 320.0;
const PLOT_LEFT: f64 = 72.0;
const PLOT_RIGHT: f64 = 624.0;
const PLOT_TOP: f64 = 16.0;
const PLOT_BOTTOM: f64 = 248.0;
const X_LABEL_Y: f64 = 268.0;
const LEGEND_Y: f64 = 302.0;

const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A line chart of cumulative actual savings against the cumulative plan, one point per month
/// (normally the twelve from [`crate::domain::cumulative`], labelled `Apr` to `Mar`).
///
/// The y axis runs from zero (or below, if anything is negative) with four or five gridlines
/// at round amounts labelled like `£250k` and `£1.2m`. Actual months with no figure leave a
/// gap. `title` and `description` become the SVG's `<title>` and `<desc>`, which label it for
/// screen readers; `id_prefix` makes their ids unique on the page (characters other than ASCII
/// letters, digits, `-` and `_` are replaced by `-`).
pub fn cumulative_chart(
    points: &[CumulativePoint],
    title: &str,
    description: &str,
    id_prefix: &str,
) -> String {
    let id = sanitise_id(id_prefix);
    let values = points
        .iter()
        .flat_map(|p| [Some(p.planned), p.actual])
        .flatten()
        .map(|p| i128::from(p.0));
    let plot = Plot {
        points,
        scale: Scale::covering(values),
    };

    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {HEIGHT}" class="medopt-chart" width="100%">"#
    );
    let _ = write!(
        svg,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
    plot.write_grid(&mut svg);
    plot.write_x_axis(&mut svg);
    plot.write_plan(&mut svg);
    plot.write_actual(&mut svg);
    write_legend(&mut svg);
    svg.push_str("</svg>");
    svg
}

/// The points of a cumulative chart and the y axis they are drawn against.
struct Plot<'a> {
    points: &'a [CumulativePoint],
    scale: Scale,
}

impl Plot<'_> {
    /// The x coordinate of the `i`th point: the middle of its twelfth (or nth) of the width.
    fn x(&self, i: usize) -> f64 {
        PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (i as f64 + 0.5) / self.points.len() as f64
    }

    /// Gridlines with their amounts; the zero line darker.
    fn write_grid(&self, svg: &mut String) {
        svg.push_str(r#"<g class="medopt-chart__grid">"#);
        for tick in self.scale.ticks() {
            let y = self.scale.y(tick);
            let (stroke, class) = if tick == 0 {
                (TEXT_COLOUR, "medopt-chart__zero-line")
            } else {
                (GRID_COLOUR, "medopt-chart__gridline")
            };
            let _ = write!(
                svg,
                r#"<line class="{class}" x1="{PLOT_LEFT}" y1="{y:.1}" x2="{PLOT_RIGHT}" y2="{y:.1}" stroke="{stroke}" stroke-width="1"/>"#
            );
            let _ = write!(
                svg,
                r#"<text class="medopt-chart__y-label" x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="{TEXT_COLOUR}">{}</text>"#,
                PLOT_LEFT - 8.0,
                y + 4.0,
                escape(&abbreviated_pounds(tick))
            );
        }
        svg.push_str("</g>");
    }

    /// Month names under the points, or a note in place of the lines if there are none.
    fn write_x_axis(&self, svg: &mut String) {
        svg.push_str(r#"<g class="medopt-chart__x-axis">"#);
        for (i, point) in self.points.iter().enumerate() {
            let _ = write!(
                svg,
                r#"<text class="medopt-chart__x-label" x="{:.1}" y="{X_LABEL_Y}" text-anchor="middle" font-size="12" fill="{TEXT_COLOUR}">{}</text>"#,
                self.x(i),
                month_name(point)
            );
        }
        svg.push_str("</g>");
        if self.points.is_empty() {
            let _ = write!(
                svg,
                r#"<text class="medopt-chart__empty" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14" fill="{TEXT_COLOUR}">No figures to show</text>"#,
                f64::midpoint(PLOT_LEFT, PLOT_RIGHT),
                f64::midpoint(PLOT_TOP, PLOT_BOTTOM)
            );
        }
    }

    /// The plan: a dashed blue line.
    fn write_plan(&self, svg: &mut String) {
        if self.points.is_empty() {
            return;
        }
        let coordinates = polyline_points(
            self.points
                .iter()
                .enumerate()
                .map(|(i, point)| (self.x(i), self.scale.y(i128::from(point.planned.0)))),
        );
        let _ = write!(
            svg,
            r#"<polyline class="medopt-chart__plan" points="{coordinates}" fill="none" stroke="{PLAN_COLOUR}" stroke-width="2" stroke-dasharray="6 4"/>"#
        );
    }

    /// The actuals: a solid green line, broken where a month has none, with a dot (and a
    /// tooltip giving both figures) per month.
    fn write_actual(&self, svg: &mut String) {
        let actual: Vec<_> = self.points.iter().map(|p| p.actual).collect();
        let y = |i: usize| self.scale.y(i128::from(actual[i].unwrap_or_default().0));
        for run in runs(&actual) {
            let coordinates = polyline_points(run.map(|i| (self.x(i), y(i))));
            let _ = write!(
                svg,
                r#"<polyline class="medopt-chart__actual" points="{coordinates}" fill="none" stroke="{ACTUAL_COLOUR}" stroke-width="3"/>"#
            );
        }
        svg.push_str(r#"<g class="medopt-chart__points">"#);
        for (i, point) in self.points.iter().enumerate() {
            let Some(value) = point.actual else { continue };
            let tooltip = format!(
                "{}: actual to date {}, plan to date {}",
                month_name(point),
                value.pounds_display(),
                point.planned.pounds_display()
            );
            let _ = write!(
                svg,
                r#"<circle class="medopt-chart__point" cx="{:.1}" cy="{:.1}" r="4" fill="{ACTUAL_COLOUR}"><title>{}</title></circle>"#,
                self.x(i),
                y(i),
                escape(&tooltip)
            );
        }
        svg.push_str("</g>");
    }
}

/// A key below the chart, drawing each series as it appears in the chart.
fn write_legend(svg: &mut String) {
    let _ = write!(
        svg,
        concat!(
            r#"<g class="medopt-chart__legend">"#,
            r#"<line x1="{plan_x}" y1="{y}" x2="{plan_end}" y2="{y}" stroke="{plan}" stroke-width="2" stroke-dasharray="6 4"/>"#,
            r#"<text x="{plan_text}" y="{text_y}" font-size="12" fill="{text}">Plan (cumulative)</text>"#,
            r#"<line x1="{actual_x}" y1="{y}" x2="{actual_end}" y2="{y}" stroke="{actual}" stroke-width="3"/>"#,
            r#"<circle cx="{actual_mid}" cy="{y}" r="4" fill="{actual}"/>"#,
            r#"<text x="{actual_text}" y="{text_y}" font-size="12" fill="{text}">Actual (cumulative)</text>"#,
            "</g>"
        ),
        plan_x = PLOT_LEFT,
        plan_end = PLOT_LEFT + 28.0,
        plan_text = PLOT_LEFT + 36.0,
        actual_x = PLOT_LEFT + 180.0,
        actual_end = PLOT_LEFT + 208.0,
        actual_mid = PLOT_LEFT + 194.0,
        actual_text = PLOT_LEFT + 216.0,
        y = LEGEND_Y,
        text_y = LEGEND_Y + 4.0,
        plan = PLAN_COLOUR,
        actual = ACTUAL_COLOUR,
        text = TEXT_COLOUR,
    );
}

/// A tiny (80×20) line of monthly actuals for a table cell. `None` months leave a gap (a lone
/// month between gaps is drawn as a dot); with no values at all it is a dotted grey line.
/// The scale always includes zero, so a small month does not look like nothing and a
/// negative one shows below a zero line. `label` becomes the `aria-label`, so it should say
/// what the line shows, e.g. "Monthly actuals, April to July".
pub fn sparkline(values: &[Option<Pence>], label: &str) -> String {
    const W: f64 = 80.0;
    const H: f64 = 20.0;
    const PAD: f64 = 2.0;

    let mut svg = String::with_capacity(512);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" class="medopt-sparkline">"#,
        escape(label)
    );

    let present: Vec<i128> = values.iter().flatten().map(|p| i128::from(p.0)).collect();
    if present.is_empty() {
        let _ = write!(
            svg,
            r#"<line class="medopt-sparkline__empty" x1="{PAD}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{GRID_COLOUR}" stroke-width="1" stroke-dasharray="2 3"/>"#,
            H / 2.0,
            W - PAD,
            H / 2.0
        );
        svg.push_str("</svg>");
        return svg;
    }

    let low = present.iter().copied().min().unwrap_or(0).min(0);
    let high = present.iter().copied().max().unwrap_or(0).max(0);
    let y = |v: i128| {
        if high == low {
            H - PAD
        } else {
            H - PAD - (v - low) as f64 / (high - low) as f64 * (H - 2.0 * PAD)
        }
    };
    let x = |i: usize| {
        if values.len() < 2 {
            W / 2.0
        } else {
            PAD + (W - 2.0 * PAD) * i as f64 / (values.len() - 1) as f64
        }
    };
    let value = |i: usize| values[i].map_or(0, |p| i128::from(p.0));

    if low < 0 {
        let zero = y(0);
        let _ = write!(
            svg,
            r#"<line class="medopt-sparkline__zero" x1="0" y1="{zero:.1}" x2="{W}" y2="{zero:.1}" stroke="{GRID_COLOUR}" stroke-width="0.5"/>"#
        );
    }
    for run in runs(values) {
        if run.len() == 1 {
            let _ = write!(
                svg,
                r#"<circle class="medopt-sparkline__point" cx="{:.1}" cy="{:.1}" r="1.5" fill="{ACTUAL_COLOUR}"/>"#,
                x(run.start),
                y(value(run.start))
            );
        } else {
            let coordinates = polyline_points(run.map(|i| (x(i), y(value(i)))));
            let _ = write!(
                svg,
                r#"<polyline class="medopt-sparkline__line" points="{coordinates}" fill="none" stroke="{ACTUAL_COLOUR}" stroke-width="1.5"/>"#
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The y axis: from `low` to `high` (pence, both multiples of `step`, `low <= 0 <= high`) in
/// three or four steps of a round number of whole pounds.
struct Scale {
    low: i128,
    high: i128,
    step: i128,
}

impl Scale {
    /// The smallest round scale (steps of 1, 2, 2.5 or 5 times a power of ten pounds, at least
    /// £1) that covers zero and every value in at most four steps, widened to at least three
    /// steps away from zero so a chart of small numbers is not squashed into one band.
    fn covering(values: impl Iterator<Item = i128>) -> Scale {
        let (min, max) = values.fold((0, 0), |(lo, hi), v| (v.min(lo), v.max(hi)));
        let mut power: i128 = 100;
        let scale = loop {
            let candidates = [10, 20, 25, 50].map(|tenths| power * tenths / 10);
            let fits = candidates
                .into_iter()
                .filter(|step| step % 100 == 0)
                .map(|step| Scale {
                    low: -ceil_div(-min, step) * step,
                    high: ceil_div(max, step) * step,
                    step,
                })
                .find(|scale| scale.steps() <= 4);
            if let Some(scale) = fits {
                break scale;
            }
            power *= 10;
        };
        let missing = 3 - scale.steps().min(3);
        if max == 0 && min < 0 {
            Scale {
                low: scale.low - missing * scale.step,
                ..scale
            }
        } else {
            Scale {
                high: scale.high + missing * scale.step,
                ..scale
            }
        }
    }

    fn steps(&self) -> i128 {
        (self.high - self.low) / self.step
    }

    /// Gridline values, bottom to top.
    fn ticks(&self) -> impl Iterator<Item = i128> + '_ {
        (0..=self.steps()).map(|i| self.low + i * self.step)
    }

    /// The y coordinate of `value`.
    fn y(&self, value: i128) -> f64 {
        let fraction = (value - self.low) as f64 / (self.high - self.low) as f64;
        PLOT_BOTTOM - fraction * (PLOT_BOTTOM - PLOT_TOP)
    }
}

/// `value / divisor` rounded up, for `value >= 0` and `divisor > 0`.
fn ceil_div(value: i128, divisor: i128) -> i128 {
    (value + divisor - 1) / divisor
}

fn month_name(point: &CumulativePoint) -> &'static str {
    MONTH_NAMES[point.month.month0() as usize]
}

/// Whole pounds (of a whole-pound amount in pence) abbreviated for an axis: `£0`, `£750`,
/// `£250k`, `£1.25k`, `£1.2m`, `-£3bn`.
fn abbreviated_pounds(pence: i128) -> String {
    let pounds = pence.unsigned_abs() / 100;
    let sign = if pence < 0 && pounds > 0 { "-" } else { "" };
    let (unit, suffix, width) = match pounds {
        1_000_000_000.. => (1_000_000_000, "bn", 9),
        1_000_000.. => (1_000_000, "m", 6),
        1_000.. => (1_000, "k", 3),
        _ => (1, "", 0),
    };
    let whole = pounds / unit;
    let fraction = format!("{:0width$}", pounds % unit);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}£{whole}{suffix}")
    } else {
        format!("{sign}£{whole}.{fraction}{suffix}")
    }
}

/// The index ranges of consecutive `Some` values.
fn runs<T>(values: &[Option<T>]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, value) in values.iter().enumerate() {
        match (value.is_some(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(s..values.len());
    }
    runs
}

fn polyline_points(coordinates: impl Iterator<Item = (f64, f64)>) -> String {
    coordinates
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Letters, digits, `-` and `_` only, so the id is safe in an attribute and cannot split the
/// space-separated `aria-labelledby` list. Empty becomes `medopt-chart`.
fn sanitise_id(prefix: &str) -> String {
    let id: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() {
        "medopt-chart".to_owned()
    } else {
        id
    }
}

/// Escapes text for SVG/XML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FinancialYear, Month, MonthFigures, cumulative, even_split};

    /// Checks that tags nest and close properly, returning the element names in order.
    /// Enough to catch a missing `/>` or `</g>`; not a full XML parser.
    fn assert_well_formed(svg: &str) -> Vec<String> {
        let mut open: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        let mut rest = svg;
        assert!(svg.starts_with("<svg"), "{svg}");
        while let Some(start) = rest.find('<') {
            let text = &rest[..start];
            assert!(!text.contains('>'), "stray > in text {text:?}");
            let end = rest[start..].find('>').expect("unclosed tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "< inside tag {tag:?}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag:?}"
            );
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let name = tag.split_whitespace().next().unwrap().trim_end_matches('/');
                seen.push(name.to_owned());
                if !tag.ends_with('/') {
                    open.push(name.to_owned());
                }
            }
            rest = &rest[end + 1..];
        }
        assert!(rest.is_empty(), "text after the root: {rest:?}");
        assert!(open.is_empty(), "unclosed: {open:?}");
        for entity in svg.match_indices('&') {
            let after = &svg[entity.0..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| after.starts_with(e)),
                "bare & in {svg}"
            );
        }
        seen
    }

    fn assert_csp_safe(svg: &str) {
        assert!(!svg.contains("style="), "{svg}");
        assert!(!svg.contains("<style"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    fn year() -> FinancialYear {
        FinancialYear::starting(2025).unwrap()
    }

    /// £1.2m phased evenly; actuals of £90k a month for April to July.
    fn points() -> Vec<CumulativePoint> {
        let months: Vec<_> = year()
            .months()
            .into_iter()
            .zip(even_split(Pence(120_000_000)))
            .enumerate()
            .map(|(i, (month, planned))| MonthFigures {
                month,
                planned,
                actual: (i < 4).then_some(Pence(9_000_000)),
            })
            .collect();
        cumulative(year(), &months, Month::new(2025, 7))
    }

    #[test]
    fn draws_a_labelled_accessible_chart() {
        let svg = cumulative_chart(&points(), "Savings 2025/26", "Plan and actual", "icb-1");
        let elements = assert_well_formed(&svg);
        assert_csp_safe(&svg);
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-labelledby="icb-1-title icb-1-desc""#));
        assert!(svg.contains(r#"class="medopt-chart""#));
        assert!(svg.contains(r#"width="100%""#));
        assert!(svg.contains(r#"<title id="icb-1-title">Savings 2025/26</title>"#));
        assert!(svg.contains(r#"<desc id="icb-1-desc">Plan and actual</desc>"#));
        assert_eq!(elements[1], "title");
        assert_eq!(elements[2], "desc");
    }

    #[test]
    fn escapes_every_piece_of_text() {
        let svg = cumulative_chart(
            &points(),
            r#"<script>alert("x")</script> & 'more'"#,
            "A < B > C",
            r#"a" onload="x y"#,
        );
        assert_well_formed(&svg);
        assert_csp_safe(&svg);
        assert!(
            svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;more&#39;")
        );
        assert!(svg.contains("A &lt; B &gt; C"));
        assert!(svg.contains(r#"id="a--onload--x-y-title""#));
        assert!(!svg.contains("onload="));

        let spark = sparkline(&[Some(Pence(1))], r#"<b>"Q1" & 'Q2'</b>"#);
        assert_well_formed(&spark);
        assert!(
            spark.contains(r#"aria-label="&lt;b&gt;&quot;Q1&quot; &amp; &#39;Q2&#39;&lt;/b&gt;""#)
        );
    }

    #[test]
    fn plots_a_point_per_reported_month() {
        let svg = cumulative_chart(&points(), "t", "d", "c");
        assert_eq!(count(&svg, r#"class="medopt-chart__point""#), 4);
        assert_eq!(count(&svg, r#"class="medopt-chart__actual""#), 1);
        assert_eq!(count(&svg, r#"class="medopt-chart__plan""#), 1);
        assert!(svg.contains("<title>Jul: actual to date £360,000, plan to date £400,000</title>"));
        let plan = svg
            .split(r#"class="medopt-chart__plan" points=""#)
            .nth(1)
            .unwrap();
        let plan = plan.split('"').next().unwrap();
        assert_eq!(plan.split(' ').count(), 12);
    }

    #[test]
    fn labels_the_months_april_to_march() {
        let svg = cumulative_chart(&points(), "t", "d", "c");
        let labels: Vec<_> = svg
            .split(r#"class="medopt-chart__x-label""#)
            .skip(1)
            .map(|s| s.split('>').nth(1).unwrap().split('<').next().unwrap())
            .collect();
        assert_eq!(
            labels,
            [
                "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"
            ]
        );
    }

    fn y_labels(svg: &str) -> Vec<&str> {
        svg.split(r#"class="medopt-chart__y-label""#)
            .skip(1)
            .map(|s| s.split('>').nth(1).unwrap().split('<').next().unwrap())
            .collect()
    }

    #[test]
    fn labels_round_amounts_on_the_y_axis() {
        let svg = cumulative_chart(&points(), "t", "d", "c");
        assert_eq!(y_labels(&svg), ["£0", "£500k", "£1m", "£1.5m"]);
        assert_eq!(count(&svg, "medopt-chart__zero-line"), 1);
    }

    #[test]
    fn handles_all_zero_and_empty_charts() {
        let zero = cumulative(year(), &[], None);
        let svg = cumulative_chart(&zero, "t", "d", "c");
        assert_well_formed(&svg);
        assert_csp_safe(&svg);
        assert_eq!(y_labels(&svg), ["£0", "£1", "£2", "£3"]);
        assert_eq!(count(&svg, r#"class="medopt-chart__point""#), 0);

        let svg = cumulative_chart(&[], "t", "d", "c");
        assert_well_formed(&svg);
        assert_csp_safe(&svg);
        assert!(svg.contains("No figures to show"));
    }

    #[test]
    fn handles_negative_values() {
        let months = [
            MonthFigures {
                month: year().months()[0],
                planned: Pence(100_000),
                actual: Some(Pence(-50_000)),
            },
            MonthFigures {
                month: year().months()[1],
                planned: Pence(0),
                actual: None,
            },
        ];
        let svg = cumulative_chart(
            &cumulative(year(), &months, Month::new(2025, 4)),
            "t",
            "d",
            "c",
        );
        assert_well_formed(&svg);
        assert_csp_safe(&svg);
        assert_eq!(y_labels(&svg), ["-£500", "£0", "£500", "£1k"]);

        let all_negative: Vec<_> = cumulative(year(), &[], None)
            .into_iter()
            .map(|p| CumulativePoint {
                actual: Some(Pence(-1_234_500)),
                ..p
            })
            .collect();
        let svg = cumulative_chart(&all_negative, "t", "d", "c");
        assert_well_formed(&svg);
        assert_eq!(y_labels(&svg), ["-£15k", "-£10k", "-£5k", "£0"]);
    }

    #[test]
    fn handles_the_extremes() {
        let extreme: Vec<_> = cumulative(year(), &[], None)
            .into_iter()
            .map(|p| CumulativePoint {
                planned: Pence(i64::MAX),
                actual: Some(Pence(i64::MIN)),
                ..p
            })
            .collect();
        let svg = cumulative_chart(&extreme, "t", "d", "c");
        assert_well_formed(&svg);
        assert_csp_safe(&svg);
    }

    #[test]
    fn scales_have_four_or_five_gridlines() {
        for (min, max) in [
            (0, 0),
            (0, 1),
            (0, 99),
            (0, 10_001),
            (0, 123_456_789),
            (-1, 100_000),
            (-100_000, 100_000),
            (-5_000_000, 0),
            (0, i128::from(i64::MAX)),
            (i128::from(i64::MIN), i128::from(i64::MAX)),
        ] {
            let scale = Scale::covering([min, max].into_iter());
            let gridlines = scale.ticks().count();
            assert!((4..=5).contains(&gridlines), "{min}..{max}: {gridlines}");
            assert!(scale.low <= min && scale.high >= max, "{min}..{max}");
            assert_eq!(scale.step % 100, 0);
            assert!(scale.ticks().any(|t| t == 0));
        }
    }

    #[test]
    fn abbreviates_pounds() {
        assert_eq!(abbreviated_pounds(0), "£0");
        assert_eq!(abbreviated_pounds(75_000), "£750");
        assert_eq!(abbreviated_pounds(25_000_000), "£250k");
        assert_eq!(abbreviated_pounds(125_000), "£1.25k");
        assert_eq!(abbreviated_pounds(120_000_000), "£1.2m");
        assert_eq!(abbreviated_pounds(-300_000_000_000), "-£3bn");
    }

    #[test]
    fn sparkline_draws_runs_and_gaps() {
        let values = [
            Some(Pence(100)),
            Some(Pence(300)),
            None,
            Some(Pence(200)),
            None,
            Some(Pence(50)),
            Some(Pence(0)),
            Some(Pence(400)),
        ];
        let svg = sparkline(&values, "Monthly actuals");
        assert_well_formed(&svg);
        assert_csp_safe(&svg);
        assert!(svg.contains(r#"role="img" aria-label="Monthly actuals""#));
        assert!(svg.contains(r#"viewBox="0 0 80 20""#));
        assert_eq!(count(&svg, "<polyline"), 2);
        assert_eq!(count(&svg, "<circle"), 1);
        assert_eq!(count(&svg, "medopt-sparkline__zero"), 0);
    }

    #[test]
    fn sparkline_placeholder_and_negatives() {
        for empty in [&[][..], &[None, None][..]] {
            let svg = sparkline(empty, "No actuals reported");
            assert_well_formed(&svg);
            assert_csp_safe(&svg);
            assert!(svg.contains("medopt-sparkline__empty"));
            assert!(!svg.contains("<polyline"));
        }

        let svg = sparkline(&[Some(Pence(-100)), Some(Pence(100))], "l");
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "medopt-sparkline__zero"), 1);

        let svg = sparkline(&[Some(Pence(0)), Some(Pence(0))], "l");
        assert_well_formed(&svg);
        assert_csp_safe(&svg);

        let svg = sparkline(&[Some(Pence(i64::MIN)), Some(Pence(i64::MAX))], "l");
        assert_well_formed(&svg);
        assert_csp_safe(&svg);
    }

    /// WCAG contrast ratio of a `#rrggbb` colour against white.
    fn contrast_on_white(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex colour")) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
        1.05 / (luminance + 0.05)
    }

    /// Every colour an SVG paints with, and whether it paints text.
    fn colours(svg: &str) -> Vec<(String, bool)> {
        svg.split('<')
            .flat_map(|element| {
                let is_text = element.starts_with("text ");
                element
                    .split([' ', '/', '>'])
                    .filter_map(|attr| {
                        let value = attr
                            .strip_prefix("fill=\"")
                            .or_else(|| attr.strip_prefix("stroke=\""))?;
                        let colour = value.trim_end_matches('"');
                        colour.starts_with('#').then(|| colour.to_owned())
                    })
                    .map(move |c| (c, is_text))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_colour_has_enough_contrast_on_white() {
        let charts = [
            cumulative_chart(&points(), "t", "d", "c"),
            sparkline(
                &[Some(Pence(-100)), None, Some(Pence(100)), Some(Pence(50))],
                "l",
            ),
            sparkline(&[], "l"),
        ];
        let mut seen = 0;
        for svg in &charts {
            for (colour, is_text) in colours(svg) {
                let ratio = contrast_on_white(&colour);
                // WCAG 1.4.3: text 4.5:1; 1.4.11: lines, dots and other graphics 3:1.
                let needed = if is_text { 4.5 } else { 3.0 };
                assert!(
                    ratio >= needed,
                    "{colour} has {ratio:.2}:1 on white, needs {needed}:1"
                );
                seen += 1;
            }
        }
        assert!(seen > 10, "the charts' colours were found ({seen})");
    }
}
