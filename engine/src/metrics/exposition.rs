//! The Prometheus text exposition format (version 0.0.4), written by hand:
//! a few families of counters, gauges and histograms need no client crate.

use std::fmt::Write as _;

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What kind of metric a family is, as its `# TYPE` line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (while the process runs).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted into cumulative buckets.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// A page of metrics being written: families, each a `# HELP` and a
/// `# TYPE` line followed by its samples.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts the family `name`; the samples written next belong to it.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample: `name{labels} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Value) {
        self.text.push_str(name);
        self.labels(labels);
        self.text.push(' ');
        value.write(&mut self.text);
        self.text.push('\n');
    }

    /// A family with one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Value) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// One histogram's samples (its family already started): a cumulative
    /// `_bucket` per upper bound in `bounds` (seconds) and `+Inf`, then
    /// `_sum` and `_count`. `counts[i]` counts the observations in bucket
    /// `i` alone (the last one past every bound).
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        counts: &[u64],
        sum_seconds: f64,
    ) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, count) in counts.iter().enumerate() {
            cumulative += count;
            let le = bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, cumulative);
        }
        self.sample(&format!("{name}_sum"), labels, sum_seconds);
        self.sample(&format!("{name}_count"), labels, cumulative);
    }

    /// The page.
    pub fn finish(self) -> String {
        self.text
    }

    fn labels(&mut self, labels: &[(&str, &str)]) {
        if labels.is_empty() {
            return;
        }
        self.text.push('{');
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            self.text.push_str(name);
            self.text.push_str("=\"");
            for c in value.chars() {
                match c {
                    '\\' => self.text.push_str("\\\\"),
                    '"' => self.text.push_str("\\\""),
                    '\n' => self.text.push_str("\\n"),
                    c => self.text.push(c),
                }
            }
            self.text.push('"');
        }
        self.text.push('}');
    }
}

/// A sample's value.
pub trait Value {
    /// Appends the value as the text format writes numbers.
    fn write(self, out: &mut String);
}

impl Value for u64 {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for usize {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for f64 {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut page = Exposition::default();
        page.family("x_total", Kind::Counter, "Things.\nMore.");
        page.sample("x_total", &[("route", "/a\"b\\c\nd")], 3u64);
        assert_eq!(
            page.finish(),
            "# HELP x_total Things.\\nMore.\n# TYPE x_total counter\n\
             x_total{route=\"/a\\\"b\\\\c\\nd\"} 3\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let mut page = Exposition::default();
        page.histogram("d_seconds", &[("m", "GET")], &[0.1, 1.0], &[2, 3, 1], 4.5);
        let text = page.finish();
        assert!(text.contains("d_seconds_bucket{m=\"GET\",le=\"0.1\"} 2\n"));
        assert!(text.contains("d_seconds_bucket{m=\"GET\",le=\"1\"} 5\n"));
        assert!(text.contains("d_seconds_bucket{m=\"GET\",le=\"+Inf\"} 6\n"));
        assert!(text.contains("d_seconds_sum{m=\"GET\"} 4.5\n"));
        assert!(text.contains("d_seconds_count{m=\"GET\"} 6\n"));
    }
}
