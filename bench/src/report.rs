//! Benchmark reports: named rows (metric, value, unit, the command that
//! reproduces it), written as JSON or as a Markdown table, and SVG charts
//! of analyzed against offered load. Shared by every benchmark of
//! `sensor-bench`, offline and live.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

/// One measured figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What was measured ("packets/s, mixed traffic").
    pub metric: String,
    /// The figure.
    pub value: f64,
    /// Its unit ("packets/s", "ns/packet", "bytes").
    pub unit: String,
    /// The command that reproduces it.
    pub command: String,
    /// How it was measured, when the metric alone does not say.
    pub note: String,
}

/// A titled list of measured figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// What the report is about.
    pub title: String,
    /// Free-form notes printed under the table (method, machine).
    pub notes: Vec<String>,
    /// The figures.
    pub rows: Vec<Row>,
}

/// A value with a sensible number of digits for a table.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if a >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1} k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

impl Report {
    /// An empty report.
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            ..Report::default()
        }
    }

    /// Adds a figure.
    pub fn push(
        &mut self,
        metric: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        command: impl Into<String>,
    ) -> &mut Row {
        self.rows.push(Row {
            metric: metric.into(),
            value,
            unit: unit.into(),
            command: command.into(),
            note: String::new(),
        });
        let last = self.rows.len() - 1;
        &mut self.rows[last]
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The figure of `metric`, if measured.
    pub fn get(&self, metric: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.metric == metric)
            .map(|r| r.value)
    }

    /// Appends the rows of `other` (and its notes).
    pub fn extend(&mut self, other: Report) {
        self.rows.extend(other.rows);
        self.notes.extend(other.notes);
    }

    /// The report as JSON: `{"title", "notes", "rows": [{"metric", "value",
    /// "unit", "command", "note"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "title": self.title,
            "notes": self.notes,
            "rows": self.rows.iter().map(|r| serde_json::json!({
                "metric": r.metric,
                "value": r.value,
                "unit": r.unit,
                "command": r.command,
                "note": r.note,
            })).collect::<Vec<_>>(),
        })
    }

    /// The report as a Markdown table (`| metric | value | unit | command |`)
    /// with the notes below it.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "### {}\n\n| metric | value | unit | command |\n|---|---|---|---|\n",
            self.title
        );
        for r in &self.rows {
            let metric = if r.note.is_empty() {
                r.metric.clone()
            } else {
                format!("{} ({})", r.metric, r.note)
            };
            s.push_str(&format!(
                "| {} | {} | {} | `{}` |\n",
                metric.replace('|', "\\|"),
                format_value(r.value),
                r.unit,
                r.command.replace('|', "\\|")
            ));
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                s.push_str(&format!("- {n}\n"));
            }
        }
        s
    }

    /// Writes [`Report::to_json`] to `path`.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.to_json())? + "\n";
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// Writes [`Report::to_markdown`] to `path`.
    pub fn write_markdown(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_markdown())
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// Draws analyzed packets/s against offered packets/s (`series`, in the
/// order measured) as an SVG line chart at `path`, with the ideal
/// (analyzed = offered) as a dashed reference line.
pub fn chart_svg(path: &Path, title: &str, series: &[(f64, f64)]) -> Result<()> {
    let max_x = series.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_y = series.iter().map(|p| p.1).fold(1.0, f64::max).max(max_x);
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_x * 1.05, 0.0..max_y * 1.05)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("offered load (packets/s)")
        .y_desc("analyzed (packets/s)")
        .x_label_formatter(&|v| format_value(*v))
        .y_label_formatter(&|v| format_value(*v))
        .draw()
        .map_err(draw_err)?;
    let top = max_x.min(max_y) * 1.05;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (top, top)],
            6,
            4,
            ShapeStyle::from(&BLACK.mix(0.4)).stroke_width(1),
        ))
        .map_err(draw_err)?
        .label("analyzed = offered")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    let mut points = series.to_vec();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            BLUE.stroke_width(2),
        ))
        .map_err(draw_err)?
        .label("analyzed")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(points.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))
        .map_err(draw_err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_json_hold_every_row() {
        let mut r = Report::new("offline");
        r.push(
            "packets/s",
            1.5e6,
            "packets/s",
            "sensor-bench offline x.pcap",
        );
        r.push("a|b", 12.0, "ns", "cmd | other").note = "how".into();
        r.note("measured on 2 cores");
        let md = r.to_markdown();
        assert!(md.contains("| packets/s | 1.50 M | packets/s | `sensor-bench offline x.pcap` |"));
        assert!(md.contains("a\\|b (how)"));
        assert!(md.contains("- measured on 2 cores"));
        let j = r.to_json();
        assert_eq!(j["rows"].as_array().map(Vec::len), Some(2));
        assert_eq!(r.get("packets/s"), Some(1.5e6));
    }

    #[test]
    fn chart_is_an_svg() {
        let dir = std::env::temp_dir().join(format!("bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("c.svg");
        chart_svg(&p, "test", &[(1e5, 1e5), (2e5, 1.9e5), (4e5, 2.5e5)]).expect("chart");
        let s = std::fs::read_to_string(&p).expect("svg");
        assert!(s.starts_with("<svg"));
        assert!(s.contains("polyline") || s.contains("path"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
