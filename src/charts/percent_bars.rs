//! A horizontal bar chart of "% of target to date", one bar per organisation, with vertical
//! reference lines (the plan at 100%, the region's or nation's own figure) so that outliers
//! stand out at a glance. The page's table carries the same figures: it is the accessible
//! version, and the chart's `<desc>` says so.

use std::fmt::Write as _;

use super::{GRID_COLOUR, PLAN_COLOUR, TEXT_COLOUR, escape, sanitise_id};

/// One bar.
#[derive(Debug, Clone)]
pub struct PercentBar {
    /// Shown at the left (shortened if long; the full name goes in the bar's tooltip).
    pub label: String,
    /// `None` when there is no target to date (nothing to compare yet).
    pub percent: Option<i64>,
}

/// A vertical line across every bar, such as the region's overall percentage.
#[derive(Debug, Clone)]
pub struct ReferenceLine {
    pub label: String,
    pub percent: i64,
}

const WIDTH: f64 = 640.0;
const LABEL_RIGHT: f64 = 208.0;
const PLOT_LEFT: f64 = 216.0;
const PLOT_RIGHT: f64 = 600.0;
const TOP: f64 = 48.0;
const ROW: f64 = 26.0;
const BAR: f64 = 16.0;
const LABEL_CHARS: usize = 30;
/// Dash patterns for the reference lines, so they differ by shape as well as by label.
const DASHES: [&str; 3] = ["6 4", "2 3", "10 3 2 3"];

/// Draws the bars against a scale from 0% to at least 120% (further, in steps of 20, if a bar
/// or line goes beyond, up to 300%; longer bars are cut at the edge with their figure shown).
/// Negative percentages are drawn as empty bars with their figure.
pub fn percent_bars(
    bars: &[PercentBar],
    lines: &[ReferenceLine],
    title: &str,
    description: &str,
    id_prefix: &str,
) -> String {
    let id = sanitise_id(id_prefix);
    let largest = bars
        .iter()
        .filter_map(|b| b.percent)
        .chain(lines.iter().map(|l| l.percent))
        .max()
        .unwrap_or(0);
    let scale_max = (largest.clamp(120, 300) + 19) / 20 * 20;
    let x = |percent: i64| {
        let clamped = percent.clamp(0, scale_max) as f64;
        PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * clamped / scale_max as f64
    };
    let plot_bottom = TOP + ROW * bars.len().max(1) as f64;
    let height = plot_bottom + 32.0;

    let mut svg = String::with_capacity(2048 + bars.len() * 512);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {height}" class="medopt-chart medopt-chart--bars" width="100%">"#
    );
    let _ = write!(
        svg,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );

    // Gridlines every 20% with their labels below the plot.
    svg.push_str(r#"<g class="medopt-chart__grid">"#);
    for percent in (0..=scale_max).step_by(20) {
        let gx = x(percent);
        let _ = write!(
            svg,
            r#"<line class="medopt-chart__gridline" x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{plot_bottom}" stroke="{GRID_COLOUR}" stroke-width="{}"/>"#,
            if percent == 0 { 1.5 } else { 0.5 }
        );
        let _ = write!(
            svg,
            r#"<text class="medopt-chart__x-label" x="{gx:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="{TEXT_COLOUR}">{percent}%</text>"#,
            plot_bottom + 18.0
        );
    }
    svg.push_str("</g>");

    svg.push_str(r#"<g class="medopt-chart__bars">"#);
    if bars.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="medopt-chart__empty" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14" fill="{TEXT_COLOUR}">No figures to show</text>"#,
            f64::midpoint(PLOT_LEFT, PLOT_RIGHT),
            TOP + ROW / 2.0 + 4.0
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let top = TOP + ROW * i as f64 + (ROW - BAR) / 2.0;
        let text_y = top + BAR / 2.0 + 4.0;
        let figure = bar
            .percent
            .map_or_else(|| "no target to date".to_owned(), |p| format!("{p}%"));
        let _ = write!(
            svg,
            r#"<text class="medopt-chart__bar-label" x="{LABEL_RIGHT}" y="{text_y:.1}" text-anchor="end" font-size="12" fill="{TEXT_COLOUR}">{}</text>"#,
            escape(&shorten(&bar.label))
        );
        let end = bar.percent.map_or(PLOT_LEFT, x);
        let _ = write!(
            svg,
            r#"<rect class="medopt-chart__bar" x="{PLOT_LEFT}" y="{top:.1}" width="{:.1}" height="{BAR}" fill="{PLAN_COLOUR}"><title>{}: {}</title></rect>"#,
            end - PLOT_LEFT,
            escape(&bar.label),
            escape(&figure)
        );
        // The figure sits just after the bar, or inside its end when the bar is cut off.
        let (text_x, anchor, fill) = if end > PLOT_RIGHT - 40.0 {
            (end - 4.0, "end", "#ffffff")
        } else {
            (end + 4.0, "start", TEXT_COLOUR)
        };
        let _ = write!(
            svg,
            r#"<text class="medopt-chart__bar-value" x="{text_x:.1}" y="{text_y:.1}" text-anchor="{anchor}" font-size="12" fill="{fill}">{}</text>"#,
            escape(&figure)
        );
    }
    svg.push_str("</g>");

    // The plan (100%) and the reference lines, each labelled above the plot.
    let all_lines = std::iter::once(("Plan 100%".to_owned(), 100, "none")).chain(
        lines.iter().enumerate().map(|(i, line)| {
            (
                format!("{} {}%", line.label, line.percent),
                line.percent,
                DASHES[i % DASHES.len()],
            )
        }),
    );
    svg.push_str(r#"<g class="medopt-chart__reference">"#);
    for (i, (label, percent, dash)) in all_lines.enumerate() {
        let lx = x(percent);
        let label_y = 14.0 + 14.0 * (i % 3) as f64;
        let _ = write!(
            svg,
            r#"<line class="medopt-chart__reference-line" x1="{lx:.1}" y1="{:.1}" x2="{lx:.1}" y2="{plot_bottom}" stroke="{TEXT_COLOUR}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
            label_y + 4.0
        );
        let anchor = if lx > PLOT_RIGHT - 60.0 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            r#"<text class="medopt-chart__reference-label" x="{lx:.1}" y="{label_y:.1}" text-anchor="{anchor}" font-size="12" fill="{TEXT_COLOUR}">{}</text>"#,
            escape(&label)
        );
    }
    svg.push_str("</g></svg>");
    svg
}

/// At most [`LABEL_CHARS`] characters, with an ellipsis when cut.
fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, percent: Option<i64>) -> PercentBar {
        PercentBar {
            label: label.into(),
            percent,
        }
    }

    #[test]
    fn draws_a_bar_per_organisation_with_its_figure() {
        let svg = percent_bars(
            &[
                bar("North", Some(50)),
                bar("South", None),
                bar("East <&>", Some(250)),
            ],
            &[ReferenceLine {
                label: "Region".into(),
                percent: 92,
            }],
            "Title",
            "Description",
            "bars",
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(">50%</text>"));
        assert!(svg.contains(">no target to date</text>"));
        assert!(svg.contains(">250%</text>"));
        assert!(svg.contains("East &lt;&amp;&gt;"));
        assert!(svg.contains(">Region 92%</text>"));
        assert!(svg.contains(">Plan 100%</text>"));
        // 250% widens the scale to 260%, in steps of 20.
        assert!(svg.contains(">260%</text>"));
        assert!(!svg.contains(">280%</text>"));
        assert!(svg.contains(r#"aria-labelledby="bars-title bars-desc""#));
    }

    #[test]
    fn long_names_are_shortened_but_kept_in_the_tooltip() {
        let long = "Bath and North East Somerset, Swindon and Wiltshire";
        let svg = percent_bars(&[bar(long, Some(80))], &[], "t", "d", "x");
        assert!(svg.contains("Bath and North East Somerset,…"));
        assert!(svg.contains(&format!("<title>{long}: 80%</title>")));
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = percent_bars(&[], &[], "t", "d", "x");
        assert!(svg.contains("No figures to show"));
    }
}
