//! Sprig's date functions on a small UTC time value: `now` (the execution's fixed instant,
//! `Exec::now_unix`, so renders are reproducible), `date`, `dateInZone`, `htmlDate`,
//! `toDate`, `unixEpoch`, `dateModify`, `ago`, `duration`, `durationRound`, with Go's
//! reference-time layouts (`2006-01-02T15:04:05Z07:00`).
//!
//! There is no time zone database: every zone but UTC is read as UTC, as Sprig does for a zone
//! it cannot load.

use crate::exec::{Exec, FuncMap, P};
use crate::funcs::{reg, s, strval, to_int64};
use crate::value::{Object, Value};
use std::rc::Rc;

#[derive(Clone, Debug)]
pub struct Time {
    pub unix: i64,
    pub nanos: u32,
    /// The zone's offset east of UTC, in seconds, and its name (`UTC`, `GMT`, `+0200`).
    pub offset: i32,
    pub zone: String,
}

impl Time {
    pub fn utc(unix: i64, nanos: u32) -> Time {
        Time {
            unix,
            nanos,
            offset: 0,
            zone: "UTC".into(),
        }
    }
}

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let c = civil(self.unix + self.offset as i64);
        Some(match name {
            "Year" => Value::Int(c.0),
            "Month" => Value::Int(c.1 as i64),
            "Day" => Value::Int(c.2 as i64),
            "Hour" => Value::Int(c.3 as i64),
            "Minute" => Value::Int(c.4 as i64),
            "Second" => Value::Int(c.5 as i64),
            "Unix" => Value::Int(self.unix),
            "UnixNano" => Value::Int(
                self.unix
                    .saturating_mul(1_000_000_000)
                    .saturating_add(self.nanos as i64),
            ),
            "String" => self.print().into(),
            "Zone" => self.zone.as_str().into(),
            "Offset" => Value::Int(self.offset as i64),
            _ => return None,
        })
    }
    fn print(&self) -> String {
        let mut layout = "2006-01-02 15:04:05.999999999 -0700 MST".to_string();
        if self.nanos == 0 {
            layout = "2006-01-02 15:04:05 -0700 MST".into();
        }
        format(self, &layout)
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month, day, hour, minute, second, weekday 0=Sunday, day of year)
fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    let wd = (days + 4).rem_euclid(7) as u32;
    let yday = (days - days_from_civil(y, 1, 1) + 1) as u32;
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs % 3600 / 60) as u32,
        (secs % 60) as u32,
        wd,
        yday,
    )
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The layout elements of Go's time package, longest first where one is a prefix of another.
const TOKENS: &[&str] = &[
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "-07:00:00",
    "-0700",
    "-07:00",
    "-07",
    "Z07:00:00",
    "Z0700",
    "Z07:00",
    "Z07",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "002",
    "15",
    "_2",
    "PM",
    "pm",
    "1",
    "2",
    "3",
    "4",
    "5",
    ".000000000",
    ".999999999",
    ".000000",
    ".999999",
    ".000",
    ".999",
    ",000",
    ",999",
];

pub fn format(t: &Time, layout: &str) -> String {
    let (y, mo, d, h, mi, se, wd, yd) = civil(t.unix + t.offset as i64);
    let off = t.offset;
    let (sign, oh, om, os) = (
        if off < 0 { '-' } else { '+' },
        off.abs() / 3600,
        off.abs() / 60 % 60,
        off.abs() % 60,
    );
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for tok in TOKENS {
            if let Some(r) = rest.strip_prefix(tok) {
                // Go only takes "Jan"/"Mon" etc. when not followed by a lower-case letter.
                if matches!(*tok, "Jan" | "Mon") && r.starts_with(|c: char| c.is_ascii_lowercase())
                {
                    continue;
                }
                if tok.starts_with(['.', ',']) && r.starts_with(|c: char| c.is_ascii_digit()) {
                    continue;
                }
                let s = match *tok {
                    "January" => MONTHS[mo as usize - 1].to_string(),
                    "Jan" => MONTHS[mo as usize - 1][..3].to_string(),
                    "Monday" => DAYS[wd as usize].to_string(),
                    "Mon" => DAYS[wd as usize][..3].to_string(),
                    "MST" => t.zone.clone(),
                    "2006" => format!("{y:04}"),
                    "06" => format!("{:02}", y.rem_euclid(100)),
                    "01" => format!("{mo:02}"),
                    "1" => mo.to_string(),
                    "02" => format!("{d:02}"),
                    "2" => d.to_string(),
                    "_2" => format!("{d:>2}"),
                    "002" => format!("{yd:03}"),
                    "15" => format!("{h:02}"),
                    "3" => (if h % 12 == 0 { 12 } else { h % 12 }).to_string(),
                    "03" => format!("{:02}", if h % 12 == 0 { 12 } else { h % 12 }),
                    "04" => format!("{mi:02}"),
                    "4" => mi.to_string(),
                    "05" => format!("{se:02}"),
                    "5" => se.to_string(),
                    "PM" => (if h >= 12 { "PM" } else { "AM" }).into(),
                    "pm" => (if h >= 12 { "pm" } else { "am" }).into(),
                    "-0700" => format!("{sign}{oh:02}{om:02}"),
                    "-07:00" => format!("{sign}{oh:02}:{om:02}"),
                    "-07" => format!("{sign}{oh:02}"),
                    "-07:00:00" => format!("{sign}{oh:02}:{om:02}:{os:02}"),
                    z if z.starts_with('Z') && off == 0 => "Z".into(),
                    "Z0700" => format!("{sign}{oh:02}{om:02}"),
                    "Z07:00" => format!("{sign}{oh:02}:{om:02}"),
                    "Z07" => format!("{sign}{oh:02}"),
                    "Z07:00:00" => format!("{sign}{oh:02}:{om:02}:{os:02}"),
                    tk if tk.starts_with(['.', ',']) => frac_str(t.nanos, tk),
                    _ => tok.to_string(),
                };
                out.push_str(&s);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn frac_str(nanos: u32, tok: &str) -> String {
    let sep = &tok[..1];
    let n = tok.len() - 1;
    let digits = format!("{nanos:09}");
    if tok.as_bytes()[1] == b'0' {
        return format!("{sep}{}", &digits[..n]);
    }
    let trimmed = digits[..n].trim_end_matches('0');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{sep}{trimmed}")
    }
}

/// Parses `value` with a Go layout (the common elements), in UTC.
pub fn parse(layout: &str, value: &str) -> Result<Time, String> {
    let err = || {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            crate::gofmt::quote(value),
            crate::gofmt::quote(layout),
            crate::gofmt::quote(value),
            crate::gofmt::quote(layout)
        )
    };
    let (mut y, mut mo, mut d, mut h, mut mi, mut se, mut nanos, mut pm, mut off) =
        (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32, None, 0i64);
    let mut rest = layout;
    let mut v = value;
    let num = |v: &mut &str, min: usize, max: usize| -> Result<i64, String> {
        let n = v
            .bytes()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n < min {
            return Err(err());
        }
        let x = v[..n].parse().map_err(|_| err())?;
        *v = &v[n..];
        Ok(x)
    };
    'outer: while !rest.is_empty() {
        for tok in TOKENS {
            if let Some(r) = rest.strip_prefix(tok) {
                match *tok {
                    "2006" => y = num(&mut v, 4, 4)?,
                    "06" => y = 2000 + num(&mut v, 2, 2)?,
                    "01" => mo = num(&mut v, 2, 2)? as u32,
                    "1" => mo = num(&mut v, 1, 2)? as u32,
                    "02" => d = num(&mut v, 2, 2)? as u32,
                    "2" | "_2" => {
                        v = v.trim_start_matches(' ');
                        d = num(&mut v, 1, 2)? as u32
                    }
                    "15" => h = num(&mut v, 2, 2)? as u32,
                    "3" | "03" => h = num(&mut v, 1, 2)? as u32,
                    "04" | "4" => mi = num(&mut v, 1, 2)? as u32,
                    "05" | "5" => se = num(&mut v, 1, 2)? as u32,
                    "PM" | "pm" => {
                        let p = v.get(..2).ok_or_else(err)?.to_ascii_uppercase();
                        pm = Some(p == "PM");
                        v = &v[2..];
                    }
                    "January" | "Jan" => {
                        let k = MONTHS.iter().position(|m| {
                            let m = if *tok == "Jan" { &m[..3] } else { m };
                            v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                        });
                        let k = k.ok_or_else(err)?;
                        v = &v[if *tok == "Jan" { 3 } else { MONTHS[k].len() }..];
                        mo = k as u32 + 1;
                    }
                    "Monday" | "Mon" => {
                        let k = DAYS.iter().position(|m| {
                            let m = if *tok == "Mon" { &m[..3] } else { m };
                            v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                        });
                        let k = k.ok_or_else(err)?;
                        v = &v[if *tok == "Mon" { 3 } else { DAYS[k].len() }..];
                    }
                    "MST" => {
                        let n = v.bytes().take_while(|b| b.is_ascii_uppercase()).count();
                        v = &v[n..];
                    }
                    t if t.starts_with('Z') || t.starts_with('-') => {
                        if t.starts_with('Z') && v.starts_with('Z') {
                            v = &v[1..];
                        } else {
                            let sign = match v.as_bytes().first() {
                                Some(b'+') => 1,
                                Some(b'-') => -1,
                                _ => return Err(err()),
                            };
                            v = &v[1..];
                            let hh = num(&mut v, 2, 2)?;
                            if v.starts_with(':') {
                                v = &v[1..];
                            }
                            let mm = if t.len() > 3 { num(&mut v, 2, 2)? } else { 0 };
                            off = sign * (hh * 3600 + mm * 60);
                        }
                    }
                    t if t.starts_with(['.', ',']) && v.starts_with(['.', ',']) => {
                        v = &v[1..];
                        let n = v.bytes().take_while(|b| b.is_ascii_digit()).count();
                        let digits = format!("{:0<9}", &v[..n.min(9)]);
                        nanos = digits.parse().unwrap_or(0);
                        v = &v[n..];
                    }
                    _ => {}
                }
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap();
        if !v.starts_with(c) {
            return Err(err());
        }
        rest = &rest[c.len_utf8()..];
        v = &v[c.len_utf8()..];
    }
    // Fractional seconds after the seconds field even when the layout has none.
    if v.starts_with('.') && v[1..].bytes().all(|b| b.is_ascii_digit()) && v.len() > 1 {
        let digits = format!("{:0<9}", &v[1..v.len().min(10)]);
        nanos = digits.parse().unwrap_or(0);
        v = "";
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            crate::gofmt::quote(value),
            crate::gofmt::quote(v)
        ));
    }
    if let Some(pm) = pm {
        if pm && h < 12 {
            h += 12;
        } else if !pm && h == 12 {
            h = 0;
        }
    }
    if !(1..=12).contains(&mo) || d == 0 || d > 31 || h > 23 || mi > 59 || se > 59 {
        return Err(format!(
            "parsing time {}: day out of range",
            crate::gofmt::quote(value)
        ));
    }
    let unix = days_from_civil(y, mo, d) * 86400 + (h * 3600 + mi * 60 + se) as i64 - off;
    let zone = if off == 0 {
        "UTC".to_string()
    } else {
        String::new()
    };
    Ok(Time {
        unix,
        nanos,
        offset: off as i32,
        zone,
    })
}

/// Go's time.ParseDuration.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let err = || format!("time: invalid duration {}", crate::gofmt::quote(orig));
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n = s
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if n == 0 {
            return Err(err());
        }
        let x: f64 = s[..n].parse().map_err(|_| err())?;
        s = &s[n..];
        let u = s
            .bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'.')
            .count();
        let unit = match &s[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::gofmt::quote(orig)
                ));
            }
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::gofmt::quote(other),
                    crate::gofmt::quote(orig)
                ));
            }
        };
        s = &s[u..];
        total += x * unit;
    }
    Ok(if neg { -total as i64 } else { total as i64 })
}

/// Go's Duration.String.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        let m = u / 60_000_000_000 % 60;
        let secs = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(secs, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac(v: u64, div: u64) -> String {
    let int = v / div;
    let rem = v % div;
    if rem == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{rem:0width$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

fn to_time(v: &Value) -> Option<Time> {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            let get = |k: &str| match o.field(k).as_ref() {
                Some(Value::Int(u)) => *u,
                _ => 0,
            };
            let zone = match o.field("Zone").as_ref() {
                Some(Value::String(z)) => z.to_string(),
                _ => "UTC".into(),
            };
            Some(Time {
                unix: get("Unix"),
                nanos: get("UnixNano").rem_euclid(1_000_000_000) as u32,
                offset: get("Offset") as i32,
                zone,
            })
        }
        Value::Int(i) => Some(Time::utc(*i, 0)),
        Value::Float(f) => Some(Time::utc(*f as i64, 0)),
        _ => None,
    }
}

fn now(x: &mut Exec) -> Time {
    x.notes.insert("now".into());
    Time::utc(x.now_unix, 0)
}

fn date(x: &mut Exec, layout: &str, v: &Value) -> Value {
    let t = to_time(v).unwrap_or_else(|| now(x));
    format(&t, layout).into()
}

pub fn register(m: &mut FuncMap) {
    reg(m, "now", &[], None, |x, _| {
        Ok(Value::Object(Rc::new(now(x))))
    });
    reg(m, "date", &[P::Str, P::Any], None, |x, a| {
        Ok(date(x, s(&a[0]), &a[1]))
    });
    reg(m, "dateInZone", &[P::Str, P::Any, P::Str], None, |x, a| {
        Ok(date(x, s(&a[0]), &a[1]))
    });
    reg(
        m,
        "date_in_zone",
        &[P::Str, P::Any, P::Str],
        None,
        |x, a| Ok(date(x, s(&a[0]), &a[1])),
    );
    reg(m, "htmlDate", &[P::Any], None, |x, a| {
        Ok(date(x, "2006-01-02", &a[0]))
    });
    reg(m, "htmlDateInZone", &[P::Any, P::Str], None, |x, a| {
        Ok(date(x, "2006-01-02", &a[0]))
    });
    reg(m, "toDate", &[P::Str, P::Str], None, |_, a| {
        Ok(parse(s(&a[0]), s(&a[1]))
            .map(|t| Value::Object(Rc::new(t)))
            .unwrap_or_else(|_| Value::Object(Rc::new(Time::utc(-62135596800, 0)))))
    });
    reg(m, "mustToDate", &[P::Str, P::Str], None, |_, a| {
        parse(s(&a[0]), s(&a[1])).map(|t| Value::Object(Rc::new(t)))
    });
    reg(m, "unixEpoch", &[P::Any], None, |_, a| {
        Ok(to_time(&a[0])
            .map(|t| t.unix.to_string())
            .unwrap_or_default()
            .into())
    });
    for name in [
        "dateModify",
        "date_modify",
        "mustDateModify",
        "must_date_modify",
    ] {
        reg(m, name, &[P::Str, P::Any], None, |_, a| {
            let t = to_time(&a[1]).ok_or("dateModify needs a time")?;
            let d = parse_duration(s(&a[0]))?;
            let total = t.unix as i128 * 1_000_000_000 + t.nanos as i128 + d as i128;
            Ok(Value::Object(Rc::new(Time {
                unix: total.div_euclid(1_000_000_000) as i64,
                nanos: total.rem_euclid(1_000_000_000) as u32,
                ..t
            })))
        });
    }
    reg(m, "ago", &[P::Any], None, |x, a| {
        let t = to_time(&a[0]).unwrap_or(Time::utc(0, 0));
        let n = now(x);
        Ok(duration_string((n.unix - t.unix) * 1_000_000_000).into())
    });
    reg(m, "duration", &[P::Any], None, |_, a| {
        let secs = match &a[0] {
            Value::String(st) => st.parse::<i64>().unwrap_or(0),
            v => to_int64(v),
        };
        Ok(duration_string(secs.saturating_mul(1_000_000_000)).into())
    });
    reg(m, "durationRound", &[P::Any], None, |x, a| {
        let d: i64 = match &a[0] {
            Value::String(st) => parse_duration(st).unwrap_or(0),
            Value::Object(_) => {
                let t = to_time(&a[0]).unwrap_or(Time::utc(0, 0));
                (now(x).unix - t.unix) * 1_000_000_000
            }
            v => to_int64(v),
        };
        let u = d.unsigned_abs();
        let (year, month, day, hour, minute, second) = (
            365 * 24 * 3600 * 1_000_000_000u64,
            30 * 24 * 3600 * 1_000_000_000u64,
            24 * 3600 * 1_000_000_000u64,
            3600 * 1_000_000_000u64,
            60 * 1_000_000_000u64,
            1_000_000_000u64,
        );
        let s = if u > year {
            format!("{}y", u / year)
        } else if u > month {
            format!("{}mo", u / month)
        } else if u > day {
            format!("{}d", u / day)
        } else if u > hour {
            format!("{}h", u / hour)
        } else if u > minute {
            format!("{}m", u / minute)
        } else if u > second {
            format!("{}s", u / second)
        } else {
            "0s".into()
        };
        Ok(s.into())
    });
    let _ = strval;
}
