//! The ratio chart (`--svg PATH`): one group per row, two horizontal bars
//! in it (weft/tokio and weft/smol), drawn from 1.00 on a log scale so a
//! ratio and its inverse are bars of one length; reference lines at 1.00
//! (even) and 0.75 (the target). Hand-written SVG 1.1 with every
//! style an attribute, so any viewer (and GitHub's) shows the same.
//!
//! Invariants: the output is well-formed XML (all text is escaped, every
//! element closed); each row has exactly one `bar weft-tokio` and one
//! `bar weft-smol` rectangle where it has that ratio, and a `-` in the
//! value column where it does not.

use std::fmt::Write as _;

/// One row of the chart.
pub struct Row {
    /// The row's name as the table prints it (with what the ratio is of,
    /// where that is not the wall time).
    pub label: String,
    /// weft/tokio and weft/smol; `None` where that runtime has no number.
    pub ratios: [Option<f64>; 2],
}

/// The chart's content.
pub struct Chart {
    /// The first title line.
    pub title: String,
    /// The second: host, date, configuration.
    pub subtitle: String,
    pub rows: Vec<Row>,
}

/// The two series, in bar order: class suffix, legend text, colour.
const SERIES: [(&str, &str, &str); 2] = [
    ("weft-tokio", "weft/tokio", "#3b6fb6"),
    ("weft-smol", "weft/smol", "#e0892b"),
];

/// The reference lines: ratio, class, label, colour, dash pattern, and
/// which side of the line its label sits on (`start`: right of it).
const REFERENCES: [(f64, &str, &str, &str, &str, &str); 2] = [
    (1.0, "ref even", "1.00: even", "#222222", "none", "start"),
    (0.75, "ref target", "target: 0.75", "#2a9d4b", "6,3", "end"),
];

/// Axis stops (the 1-2-5 series); the axis spans two of them.
const STOPS: [f64; 13] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
];

const WIDTH: f64 = 980.0;
/// Right edge of the row labels.
const LABEL_RIGHT: f64 = 330.0;
const PLOT_LEFT: f64 = 340.0;
const PLOT_RIGHT: f64 = 880.0;
/// Left edge of the value column.
const VALUES_LEFT: f64 = 892.0;
const TOP: f64 = 96.0;
const ROW_HEIGHT: f64 = 26.0;
const BAR_HEIGHT: f64 = 9.0;
const BOTTOM: f64 = 40.0;
const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

/// The chart as an SVG document.
pub fn render(chart: &Chart) -> String {
    let (lo, hi) = axis(chart.rows.iter().flat_map(|r| r.ratios.iter().flatten()));
    let x = |ratio: f64| {
        let r = ratio.clamp(lo, hi);
        PLOT_LEFT + (r / lo).ln() / (hi / lo).ln() * (PLOT_RIGHT - PLOT_LEFT)
    };
    let plot_bottom = TOP + ROW_HEIGHT * chart.rows.len() as f64;
    let height = plot_bottom + BOTTOM;

    let mut out = String::new();
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" {FONT} font-size=\"12\">"
    );
    let _ = writeln!(
        out,
        "<title>{}: {}</title>",
        escape(&chart.title),
        escape(&chart.subtitle)
    );
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        out,
        "<text x=\"12\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        escape(&chart.title)
    );
    let _ = writeln!(
        out,
        "<text x=\"12\" y=\"44\" fill=\"#444444\">{}</text>",
        escape(&chart.subtitle)
    );

    // Legend.
    let mut legend_x = 12.0;
    for (class, name, colour) in SERIES {
        let _ = writeln!(
            out,
            "<g class=\"legend {class}\"><rect x=\"{legend_x}\" y=\"56\" width=\"14\" height=\"{BAR_HEIGHT}\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"65\">{name}</text></g>",
            legend_x + 20.0
        );
        legend_x += 110.0;
    }
    let _ = writeln!(
        out,
        "<text x=\"{legend_x}\" y=\"65\" fill=\"#444444\">bars start at 1.00; log scale; left of 1.00: weft faster (or smaller)</text>"
    );

    // Every other row on a light stripe, under the grid.
    for i in (0..chart.rows.len()).step_by(2) {
        let _ = writeln!(
            out,
            "<rect class=\"stripe\" x=\"8\" y=\"{:.1}\" width=\"{}\" height=\"{ROW_HEIGHT}\" fill=\"#f4f4f4\"/>",
            TOP + ROW_HEIGHT * i as f64,
            WIDTH - 16.0
        );
    }

    // Grid: a light line and a label at each stop inside the axis.
    for stop in STOPS.iter().copied().filter(|s| (lo..=hi).contains(s)) {
        let sx = x(stop);
        let _ = writeln!(
            out,
            "<g class=\"tick\"><line x1=\"{sx:.1}\" y1=\"{TOP}\" x2=\"{sx:.1}\" y2=\"{plot_bottom}\" stroke=\"#dddddd\"/>\
             <text x=\"{sx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444444\">{}</text></g>",
            plot_bottom + 16.0,
            stop_label(stop)
        );
    }

    for (i, row) in chart.rows.iter().enumerate() {
        let y = TOP + ROW_HEIGHT * i as f64;
        let _ = write!(out, "<g class=\"row\">");
        let _ = write!(
            out,
            "<text x=\"{LABEL_RIGHT}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            y + ROW_HEIGHT / 2.0 + 4.0,
            escape(&row.label)
        );
        for (j, ((class, name, colour), ratio)) in SERIES.iter().zip(row.ratios).enumerate() {
            let bar_y = y + 3.0 + j as f64 * (BAR_HEIGHT + 2.0);
            let value = match ratio {
                Some(r) if r.is_finite() && r > 0.0 => {
                    let (a, b) = (x(1.0), x(r));
                    let left = a.min(b);
                    // At least a pixel, so a ratio of 1.00 still shows.
                    let width = (a - b).abs().max(1.0);
                    let _ = write!(
                        out,
                        "<rect class=\"bar {class}\" x=\"{left:.1}\" y=\"{bar_y:.1}\" width=\"{width:.1}\" \
                         height=\"{BAR_HEIGHT}\" fill=\"{colour}\"><title>{} {name} {r:.2}</title></rect>",
                        escape(&row.label)
                    );
                    format!("{r:.2}")
                }
                _ => "-".to_string(),
            };
            let _ = write!(
                out,
                "<text class=\"value {class}\" x=\"{VALUES_LEFT}\" y=\"{:.1}\" fill=\"{colour}\">{value}</text>",
                bar_y + BAR_HEIGHT
            );
        }
        let _ = writeln!(out, "</g>");
    }

    // The reference lines, over the bars.
    for (ratio, class, label, colour, dash, side) in REFERENCES {
        let rx = x(ratio);
        let label_x = if side == "start" { rx + 3.0 } else { rx - 3.0 };
        let _ = writeln!(
            out,
            "<g class=\"{class}\"><line x1=\"{rx:.1}\" y1=\"{:.1}\" x2=\"{rx:.1}\" y2=\"{plot_bottom}\" \
             stroke=\"{colour}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/>\
             <text x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"{side}\" fill=\"{colour}\">{label}</text></g>",
            TOP - 14.0,
            TOP - 4.0,
        );
    }
    let _ = writeln!(out, "</svg>");
    out
}

/// The axis: from the largest stop at or below every ratio (and 0.5) to
/// the smallest at or above every ratio (and 2), so 1.00 and 0.75 are
/// always on it; ratios outside 0.01-100 are drawn at the edge.
fn axis<'a>(ratios: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    let (mut min, mut max) = (0.5f64, 2.0f64);
    for &r in ratios.filter(|r| r.is_finite() && **r > 0.0) {
        min = min.min(r);
        max = max.max(r);
    }
    let lo = STOPS
        .iter()
        .copied()
        .rev()
        .find(|s| *s <= min)
        .unwrap_or(STOPS[0]);
    let hi = STOPS
        .iter()
        .copied()
        .find(|s| *s >= max)
        .unwrap_or(STOPS[STOPS.len() - 1]);
    (lo, hi)
}

fn stop_label(stop: f64) -> String {
    if stop >= 1.0 {
        format!("{stop:.0}")
    } else {
        let s = format!("{stop:.2}");
        s.trim_end_matches('0').to_string()
    }
}

/// `s` with XML's special characters escaped, for text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// An element as the checker saw it: name and attributes.
    #[derive(Debug)]
    pub struct Element {
        pub name: String,
        pub attrs: Vec<(String, String)>,
    }

    impl Element {
        pub fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// A small XML well-formedness check (what the chart uses: a
    /// declaration, elements, attributes, text, the five entities): every
    /// tag closed in order, attributes quoted and unique, no stray `<` or
    /// `&`, one root. Returns every element in document order.
    pub fn check_xml(doc: &str) -> Result<Vec<Element>, String> {
        let mut rest = doc
            .strip_prefix("<?xml")
            .and_then(|r| r.split_once("?>"))
            .ok_or("no XML declaration")?
            .1;
        let mut open: Vec<String> = Vec::new();
        let mut elements = Vec::new();
        let mut roots = 0;
        loop {
            let (text, after) = match rest.find('<') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            check_text(text)?;
            if open.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            let Some(after) = after else { break };
            let end = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[..end];
            rest = &after[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match open.pop() {
                    Some(o) if o == name.trim() => {}
                    o => return Err(format!("</{name}> closes {o:?}")),
                }
                continue;
            }
            let (tag, empty) = match tag.strip_suffix('/') {
                Some(t) => (t, true),
                None => (tag, false),
            };
            let element = parse_tag(tag)?;
            if open.is_empty() {
                roots += 1;
            }
            if !empty {
                open.push(element.name.clone());
            }
            elements.push(element);
        }
        if let Some(o) = open.last() {
            return Err(format!("<{o}> never closed"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(elements)
    }

    fn is_name(s: &str) -> bool {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
            && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-')
    }

    fn check_text(text: &str) -> Result<(), String> {
        let mut parts = text.split('&');
        parts.next();
        for part in parts {
            let entity = part.split(';').next().unwrap_or("");
            if !["amp", "lt", "gt", "quot", "apos"].contains(&entity) || !part.contains(';') {
                return Err(format!("bad entity in {text:?}"));
            }
        }
        if text.contains('>') {
            return Err(format!("raw '>' in {text:?}"));
        }
        Ok(())
    }

    fn parse_tag(tag: &str) -> Result<Element, String> {
        let tag = tag.trim_end();
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = &tag[..name_end];
        if !is_name(name) {
            return Err(format!("bad element name {name:?}"));
        }
        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut rest = tag[name_end..].trim_start();
        while !rest.is_empty() {
            let (attr, after) = rest
                .split_once("=\"")
                .ok_or(format!("bad attribute in <{tag}>"))?;
            if !is_name(attr) || attrs.iter().any(|(a, _)| a == attr) {
                return Err(format!("bad or repeated attribute {attr:?} in <{name}>"));
            }
            let (value, after) = after
                .split_once('"')
                .ok_or(format!("unquoted value in <{tag}>"))?;
            if value.contains('<') {
                return Err(format!("'<' in an attribute of <{name}>"));
            }
            check_text(value)?;
            attrs.push((attr.to_string(), value.to_string()));
            if !after.is_empty() && !after.starts_with(char::is_whitespace) {
                return Err(format!("no space between attributes in <{tag}>"));
            }
            rest = after.trim_start();
        }
        Ok(Element {
            name: name.to_string(),
            attrs,
        })
    }

    #[test]
    fn the_checker_rejects_what_it_should() {
        let ok = "<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>t &amp; u</a>\n";
        assert_eq!(check_xml(ok).unwrap().len(), 2);
        for bad in [
            "<a></a>",
            "<?xml?><a><b></a></b>",
            "<?xml?><a>",
            "<?xml?><a x=1></a>",
            "<?xml?><a x=\"1\" x=\"2\"></a>",
            "<?xml?><a>&nbsp;</a>",
            "<?xml?><a>x < y</a>",
            "<?xml?><a/><b/>",
        ] {
            assert!(check_xml(bad).is_err(), "accepted {bad:?}");
        }
    }

    fn sample_chart() -> Chart {
        Chart {
            title: "weft-bench <&> \"ratios\"".to_string(),
            subtitle: "host: test & co".to_string(),
            rows: vec![
                Row {
                    label: "spawn_many_local".to_string(),
                    ratios: [Some(0.32), Some(0.65)],
                },
                Row {
                    label: "timer_fire cpu".to_string(),
                    ratios: [Some(1.0), None],
                },
                Row {
                    label: "sync <x> & y".to_string(),
                    ratios: [Some(250.0), Some(0.001)],
                },
            ],
        }
    }

    #[test]
    fn the_chart_is_well_formed_with_a_bar_per_row_and_runtime_and_the_lines() {
        let chart = sample_chart();
        let svg = render(&chart);
        let elements = check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        assert_eq!(elements[0].name, "svg");
        let count = |class: &str| {
            elements
                .iter()
                .filter(|e| e.attr("class") == Some(class))
                .count()
        };
        assert_eq!(count("row"), 3);
        assert_eq!(count("bar weft-tokio"), 3);
        assert_eq!(count("bar weft-smol"), 2, "the missing ratio has no bar");
        assert_eq!(count("ref even"), 1);
        assert_eq!(count("ref target"), 1);
        assert!(svg.contains(">-</text>"), "the missing ratio shows as -");
        assert!(svg.contains("weft-bench &lt;&amp;&gt; &quot;ratios&quot;"));

        // The bars start at the 1.00 line: a faster row's bar ends there,
        // and the target line is left of the even line.
        let line_x = |class: &str| -> f64 {
            let at = elements
                .iter()
                .position(|e| e.attr("class") == Some(class))
                .unwrap();
            elements[at + 1].attr("x1").unwrap().parse().unwrap()
        };
        let (even, target) = (line_x("ref even"), line_x("ref target"));
        assert!(target < even);
        let first_bar = elements
            .iter()
            .find(|e| e.attr("class") == Some("bar weft-tokio"))
            .unwrap();
        let bx: f64 = first_bar.attr("x").unwrap().parse().unwrap();
        let bw: f64 = first_bar.attr("width").unwrap().parse().unwrap();
        assert!((bx + bw - even).abs() < 0.2, "{bx} + {bw} vs {even}");
        // Every bar stays inside the plot, however far out its ratio.
        for bar in elements
            .iter()
            .filter(|e| e.attr("class").is_some_and(|c| c.starts_with("bar ")))
        {
            let bx: f64 = bar.attr("x").unwrap().parse().unwrap();
            let bw: f64 = bar.attr("width").unwrap().parse().unwrap();
            assert!(
                bx >= PLOT_LEFT - 0.1 && bx + bw <= PLOT_RIGHT + 0.1,
                "{bar:?}"
            );
        }
    }

    #[test]
    fn the_axis_spans_stops_around_the_data_and_the_references() {
        assert_eq!(axis([].iter()), (0.5, 2.0));
        assert_eq!(axis([0.13, 2.24].iter()), (0.1, 5.0));
        assert_eq!(axis([1e-9, 1e9].iter()), (0.01, 100.0));
        assert_eq!(stop_label(0.05), "0.05");
        assert_eq!(stop_label(0.5), "0.5");
        assert_eq!(stop_label(20.0), "20");
    }
}
