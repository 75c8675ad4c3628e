//! A measure's monthly line for one organisation against England's spread: the 10th to 90th
//! percentiles of every ICB's value (a shaded band with a dashed line per decile, the median
//! heavier, as OpenPrescribing draws them), the region's median, and a marker at the baseline
//! month. The page shows the same figures in a table, which is the accessible version.
//!
//! The series differ in shape as well as colour: the ICB is a solid line with a dot per
//! month, the region's median a long dash, England's deciles short dashes.

use std::fmt::Write as _;

use super::{GRID_COLOUR, PLAN_COLOUR, TEXT_COLOUR, escape, polyline_points, runs, sanitise_id};

/// NHS dark pink (8:1 on white): the region's median.
const REGION_COLOUR: &str = "#7c2855";
/// NHS dark grey (7.5:1): England's median.
const MEDIAN_COLOUR: &str = "#425563";

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 340.0;
const PLOT_LEFT: f64 = 72.0;
const PLOT_RIGHT: f64 = 624.0;
const PLOT_TOP: f64 = 16.0;
const PLOT_BOTTOM: f64 = 248.0;
const X_LABEL_Y: f64 = 266.0;
const LEGEND_Y: f64 = 300.0;

/// One month of the chart, in the units the axis shows (percentages as 0–100).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecilePoint {
    /// Under the axis: `Apr 24`.
    pub label: String,
    /// The organisation's value.
    pub value: Option<f64>,
    /// England's 10th, 20th, … 90th percentiles.
    pub deciles: Option<[f64; 9]>,
    pub region_median: Option<f64>,
}

/// What the chart says in words and how its axis reads.
#[derive(Debug, Clone, Copy)]
pub struct DecileLabels<'a> {
    pub title: &'a str,
    pub description: &'a str,
    /// What the line is, in the legend: "This ICB".
    pub series: &'a str,
    /// A value as an axis label: `12%`, `£1.2k`.
    pub axis: fn(f64) -> String,
    /// Makes the SVG's ids unique on the page.
    pub id_prefix: &'a str,
}

/// Draws the chart; `baseline` is the index of the baseline month, if it is on the chart.
pub fn decile_chart(
    points: &[DecilePoint],
    baseline: Option<usize>,
    labels: DecileLabels<'_>,
) -> String {
    let id = sanitise_id(labels.id_prefix);
    let values: Vec<f64> = points
        .iter()
        .flat_map(|p| {
            p.value
                .into_iter()
                .chain(p.region_median)
                .chain(p.deciles.into_iter().flatten())
        })
        .filter(|v| v.is_finite())
        .collect();
    let scale = Scale::covering(&values);
    let x = |i: usize| {
        PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (i as f64 + 0.5) / points.len().max(1) as f64
    };

    let mut svg = String::with_capacity(8192);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {HEIGHT}" class="medopt-chart medopt-chart--deciles" width="100%">"#
    );
    let _ = write!(
        svg,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(labels.title),
        escape(labels.description)
    );

    // Gridlines with their values.
    svg.push_str(r#"<g class="medopt-chart__grid">"#);
    for tick in scale.ticks() {
        let y = scale.y(tick);
        let _ = write!(
            svg,
            r#"<line class="medopt-chart__gridline" x1="{PLOT_LEFT}" y1="{y:.1}" x2="{PLOT_RIGHT}" y2="{y:.1}" stroke="{GRID_COLOUR}" stroke-width="0.5"/><text class="medopt-chart__y-label" x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="{TEXT_COLOUR}">{}</text>"#,
            PLOT_LEFT - 8.0,
            y + 4.0,
            escape(&(labels.axis)(tick))
        );
    }
    svg.push_str("</g>");

    // Month labels: every one when few, else every third.
    svg.push_str(r#"<g class="medopt-chart__x-axis">"#);
    let every = if points.len() > 13 { 3 } else { 1 };
    for (i, point) in points.iter().enumerate() {
        if i % every == 0 || i + 1 == points.len() {
            let _ = write!(
                svg,
                r#"<text class="medopt-chart__x-label" x="{:.1}" y="{X_LABEL_Y}" text-anchor="middle" font-size="11" fill="{TEXT_COLOUR}">{}</text>"#,
                x(i),
                escape(&point.label)
            );
        }
    }
    svg.push_str("</g>");
    if values.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="medopt-chart__empty" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14" fill="{TEXT_COLOUR}">No figures to show</text>"#,
            f64::midpoint(PLOT_LEFT, PLOT_RIGHT),
            f64::midpoint(PLOT_TOP, PLOT_BOTTOM)
        );
    }

    // England's band and deciles.
    let deciles: Vec<Option<[f64; 9]>> = points.iter().map(|p| p.deciles).collect();
    for run in runs(&deciles) {
        let upper = run
            .clone()
            .map(|i| (x(i), scale.y(deciles[i].map_or(0.0, |d| d[8]))));
        let lower = run
            .clone()
            .rev()
            .map(|i| (x(i), scale.y(deciles[i].map_or(0.0, |d| d[0]))));
        let _ = write!(
            svg,
            r#"<polygon class="medopt-chart__band" points="{}" fill="{PLAN_COLOUR}" fill-opacity="0.08" stroke="none"/>"#,
            polyline_points(upper.chain(lower))
        );
        for n in 0..9 {
            let (colour, width, dash) = if n == 4 {
                (MEDIAN_COLOUR, 2.0, "6 3")
            } else {
                (GRID_COLOUR, 1.0, "3 3")
            };
            let line = polyline_points(
                run.clone()
                    .map(|i| (x(i), scale.y(deciles[i].map_or(0.0, |d| d[n])))),
            );
            let _ = write!(
                svg,
                r#"<polyline class="medopt-chart__decile" points="{line}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-dasharray="{dash}"/>"#
            );
        }
    }

    // The region's median.
    let medians: Vec<Option<f64>> = points.iter().map(|p| p.region_median).collect();
    for run in runs(&medians) {
        let line = polyline_points(run.map(|i| (x(i), scale.y(medians[i].unwrap_or_default()))));
        let _ = write!(
            svg,
            r#"<polyline class="medopt-chart__region" points="{line}" fill="none" stroke="{REGION_COLOUR}" stroke-width="2" stroke-dasharray="10 4"/>"#
        );
    }

    // The baseline month.
    if let Some(b) = baseline.filter(|b| *b < points.len()) {
        let bx = x(b);
        let _ = write!(
            svg,
            r#"<g class="medopt-chart__baseline"><line x1="{bx:.1}" y1="{PLOT_TOP}" x2="{bx:.1}" y2="{PLOT_BOTTOM}" stroke="{TEXT_COLOUR}" stroke-width="1" stroke-dasharray="1 3"/><text x="{:.1}" y="{:.1}" font-size="11" fill="{TEXT_COLOUR}">Baseline</text></g>"#,
            bx + 4.0,
            PLOT_TOP + 10.0
        );
    }

    // The organisation: solid, with a dot (and its value as a tooltip) per month.
    let own: Vec<Option<f64>> = points.iter().map(|p| p.value).collect();
    for run in runs(&own) {
        let line = polyline_points(run.map(|i| (x(i), scale.y(own[i].unwrap_or_default()))));
        let _ = write!(
            svg,
            r#"<polyline class="medopt-chart__own" points="{line}" fill="none" stroke="{PLAN_COLOUR}" stroke-width="3"/>"#
        );
    }
    svg.push_str(r#"<g class="medopt-chart__points">"#);
    for (i, point) in points.iter().enumerate() {
        if let Some(value) = point.value {
            let _ = write!(
                svg,
                r#"<circle class="medopt-chart__point" cx="{:.1}" cy="{:.1}" r="3.5" fill="{PLAN_COLOUR}"><title>{}: {}</title></circle>"#,
                x(i),
                scale.y(value),
                escape(&point.label),
                escape(&(labels.axis)(value))
            );
        }
    }
    svg.push_str("</g>");
    write_legend(&mut svg, labels.series);
    svg.push_str("</svg>");
    svg
}

fn write_legend(svg: &mut String, series: &str) {
    let y = LEGEND_Y;
    let text_y = y + 4.0;
    let entries: [(&str, &str, f64, &str, String); 4] = [
        (PLAN_COLOUR, "", 3.0, "own", series.to_owned()),
        (REGION_COLOUR, "10 4", 2.0, "region", "Region median".into()),
        (MEDIAN_COLOUR, "6 3", 2.0, "median", "England median".into()),
        (
            GRID_COLOUR,
            "3 3",
            1.0,
            "deciles",
            "England deciles (10th–90th)".into(),
        ),
    ];
    svg.push_str(r#"<g class="medopt-chart__legend">"#);
    let mut at = PLOT_LEFT - 56.0;
    for (colour, dash, width, class, label) in entries {
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            svg,
            r#"<line class="medopt-chart__legend-{class}" x1="{at}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="{width}"{dash}/><text x="{}" y="{text_y}" font-size="11" fill="{TEXT_COLOUR}">{}</text>"#,
            at + 24.0,
            at + 30.0,
            escape(&label)
        );
        at += 34.0 + 6.2 * label.chars().count() as f64;
    }
    svg.push_str("</g>");
}

/// The y axis: from zero (or the lowest value, if below zero) to a round number above the
/// highest, with four to six gridlines.
struct Scale {
    low: f64,
    high: f64,
    step: f64,
}

impl Scale {
    fn covering(values: &[f64]) -> Scale {
        let low = values.iter().copied().fold(0.0_f64, f64::min);
        let high = values.iter().copied().fold(0.0_f64, f64::max);
        let span = (high - low).max(f64::EPSILON);
        let raw = span / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| span / s <= 5.0)
            .unwrap_or(10.0 * magnitude);
        let step = if step > 0.0 && step.is_finite() {
            step
        } else {
            1.0
        };
        Scale {
            low: (low / step).floor() * step,
            high: ((high / step).ceil() * step).max(step),
            step,
        }
    }

    fn ticks(&self) -> impl Iterator<Item = f64> + '_ {
        let n = ((self.high - self.low) / self.step).round() as i64;
        (0..=n).map(move |k| self.low + k as f64 * self.step)
    }

    fn y(&self, value: f64) -> f64 {
        let span = (self.high - self.low).max(f64::EPSILON);
        PLOT_BOTTOM - (value - self.low) / span * (PLOT_BOTTOM - PLOT_TOP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(label: &str, value: Option<f64>, base: f64) -> DecilePoint {
        DecilePoint {
            label: label.into(),
            value,
            deciles: Some(std::array::from_fn(|i| base + i as f64)),
            region_median: Some(base + 3.5),
        }
    }

    fn labels<'a>() -> DecileLabels<'a> {
        DecileLabels {
            title: "DOACs <not generic> & more",
            description: "d",
            series: "This ICB",
            axis: |v| format!("{v:.0}%"),
            id_prefix: "measure doacs",
        }
    }

    #[test]
    fn draws_every_series_and_escapes_text() {
        let points = vec![
            point("Mar 24", Some(12.0), 5.0),
            point("Apr 24", None, 5.5),
            point("May 24", Some(10.0), 6.0),
        ];
        let svg = decile_chart(&points, Some(0), labels());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("DOACs &lt;not generic&gt; &amp; more"));
        assert!(svg.contains(r#"id="measure-doacs-title""#));
        assert_eq!(svg.matches("medopt-chart__decile\"").count(), 9);
        assert_eq!(
            svg.matches("<circle").count(),
            2,
            "a dot per month with a value"
        );
        assert_eq!(
            svg.matches("medopt-chart__own\"").count(),
            2,
            "a gap where a month is missing"
        );
        assert!(svg.contains("medopt-chart__baseline"));
        assert!(svg.contains("Region median"));
        assert!(
            !svg.contains("style="),
            "the content security policy forbids style attributes"
        );
    }

    #[test]
    fn handles_nothing_to_draw() {
        let svg = decile_chart(&[], None, labels());
        assert!(svg.contains("No figures to show"));
        let flat = vec![DecilePoint {
            label: "Mar 24".into(),
            value: Some(0.0),
            ..DecilePoint::default()
        }];
        let svg = decile_chart(&flat, None, labels());
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn the_axis_has_round_ticks_above_the_highest_value() {
        let scale = Scale::covering(&[0.0, 37.0]);
        let ticks: Vec<f64> = scale.ticks().collect();
        assert_eq!(ticks.first(), Some(&0.0));
        assert!(*ticks.last().unwrap() >= 37.0);
        assert!((3..=7).contains(&ticks.len()), "{ticks:?}");
        let scale = Scale::covering(&[-4.0, 2.5]);
        assert!(scale.low <= -4.0 && scale.high >= 2.5);
    }
}
