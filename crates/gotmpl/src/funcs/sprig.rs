//! Sprig v3.3 (the version Helm v4 links): strings, lists, dicts, math, semver, regex,
//! encoding, hashes, dates, reflection, defaults, paths and URLs, with Sprig's own quirks
//! (`trunc` and `substr` count bytes, `keys` of several dicts, `merge` keeps non-empty
//! values, `mergeOverwrite` replaces them, `has` takes the needle first).
//!
//! Random values come from a generator seeded per execution (`Exec::seed`), so a render is
//! reproducible; Helm's own output for them is not, and callers are told through
//! `Exec::notes`. Key and certificate generation, `derivePassword`, `bcrypt` and `htpasswd`
//! are not built: those functions fail with a message that says so.

use super::{as_list, i, reg, s, strslice, strval, to_float64, to_int64};
use crate::exec::{Exec, FuncMap, P};
use crate::gofmt;
use crate::value::{Map, Value};
use std::rc::Rc;

type Res = Result<Value, String>;

pub fn register(m: &mut FuncMap) {
    // Strings.
    reg(m, "hello", &[], None, |_, _| Ok("Hello!".into()));
    reg(m, "upper", &[P::Str], None, |_, a| {
        Ok(s(&a[0]).to_uppercase().into())
    });
    reg(m, "lower", &[P::Str], None, |_, a| {
        Ok(s(&a[0]).to_lowercase().into())
    });
    reg(m, "title", &[P::Str], None, |_, a| {
        Ok(title(s(&a[0])).into())
    });
    reg(m, "untitle", &[P::Str], None, |_, a| {
        Ok(untitle(s(&a[0])).into())
    });
    reg(m, "substr", &[P::Int, P::Int, P::Str], None, |_, a| {
        substr(i(&a[0]), i(&a[1]), s(&a[2]))
    });
    reg(m, "repeat", &[P::Int, P::Str], None, repeat);
    reg(m, "trim", &[P::Str], None, |_, a| {
        Ok(s(&a[0]).trim_matches(is_go_space).into())
    });
    reg(m, "trimAll", &[P::Str, P::Str], None, |_, a| {
        Ok(trim_all(s(&a[1]), s(&a[0])).into())
    });
    reg(m, "trimall", &[P::Str, P::Str], None, |_, a| {
        Ok(trim_all(s(&a[1]), s(&a[0])).into())
    });
    reg(m, "trimSuffix", &[P::Str, P::Str], None, |_, a| {
        Ok(s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])).into())
    });
    reg(m, "trimPrefix", &[P::Str, P::Str], None, |_, a| {
        Ok(s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])).into())
    });
    reg(m, "nospace", &[P::Str], None, |_, a| {
        Ok(s(&a[0])
            .chars()
            .filter(|c| !is_go_space(*c))
            .collect::<String>()
            .into())
    });
    reg(m, "initials", &[P::Str], None, |_, a| {
        Ok(s(&a[0])
            .split(is_go_space)
            .filter(|w| !w.is_empty())
            .filter_map(|w| w.chars().next())
            .collect::<String>()
            .into())
    });
    reg(m, "randAlphaNum", &[P::Int], None, |x, a| {
        rand_string(x, i(&a[0]), CHARS_ALNUM)
    });
    reg(m, "randAlpha", &[P::Int], None, |x, a| {
        rand_string(x, i(&a[0]), CHARS_ALPHA)
    });
    reg(m, "randAscii", &[P::Int], None, |x, a| {
        rand_string(x, i(&a[0]), CHARS_ASCII)
    });
    reg(m, "randNumeric", &[P::Int], None, |x, a| {
        rand_string(x, i(&a[0]), "0123456789")
    });
    reg(m, "randBytes", &[P::Int], None, |x, a| {
        let n = i(&a[0]).max(0) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| next_rand(x) as u8).collect();
        Ok(crate::encoding::base64_encode(&bytes).into())
    });
    reg(m, "randInt", &[P::Int, P::Int], None, |x, a| {
        let (lo, hi) = (i(&a[0]), i(&a[1]));
        if hi <= lo {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(lo + (next_rand(x) % (hi - lo) as u64) as i64))
    });
    reg(m, "swapcase", &[P::Str], None, |_, a| {
        Ok(s(&a[0])
            .chars()
            .map(|c| {
                if c.is_uppercase() {
                    c.to_lowercase().collect::<String>()
                } else {
                    c.to_uppercase().collect()
                }
            })
            .collect::<String>()
            .into())
    });
    reg(m, "shuffle", &[P::Str], None, |x, a| {
        let mut chars: Vec<char> = s(&a[0]).chars().collect();
        for k in (1..chars.len()).rev() {
            let j = (next_rand(x) % (k as u64 + 1)) as usize;
            chars.swap(k, j);
        }
        Ok(chars.into_iter().collect::<String>().into())
    });
    reg(m, "snakecase", &[P::Str], None, |_, a| {
        Ok(snake_case(s(&a[0]), '_').into())
    });
    reg(m, "kebabcase", &[P::Str], None, |_, a| {
        Ok(snake_case(s(&a[0]), '-').into())
    });
    reg(m, "camelcase", &[P::Str], None, |_, a| {
        Ok(camel_case(s(&a[0])).into())
    });
    reg(m, "wrap", &[P::Int, P::Str], None, |_, a| {
        Ok(wrap(s(&a[1]), i(&a[0]), "\n").into())
    });
    reg(m, "wrapWith", &[P::Int, P::Str, P::Str], None, |_, a| {
        Ok(wrap(s(&a[2]), i(&a[0]), s(&a[1])).into())
    });
    reg(m, "contains", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
    });
    reg(m, "hasPrefix", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
    });
    reg(m, "hasSuffix", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
    });
    reg(m, "quote", &[], Some(P::Any), |_, a| {
        Ok(a.iter()
            .filter(|v| !v.is_nil())
            .map(|v| gofmt::quote(&strval(v)))
            .collect::<Vec<_>>()
            .join(" ")
            .into())
    });
    reg(m, "squote", &[], Some(P::Any), |_, a| {
        Ok(a.iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", strval(v)))
            .collect::<Vec<_>>()
            .join(" ")
            .into())
    });
    reg(m, "cat", &[], Some(P::Any), |_, a| {
        Ok(a.iter()
            .filter(|v| !v.is_nil())
            .map(gofmt::sprint_value)
            .collect::<Vec<_>>()
            .join(" ")
            .into())
    });
    reg(m, "indent", &[P::Int, P::Str], None, |x, a| {
        indent(x, i(&a[0]), s(&a[1]), false)
    });
    reg(m, "nindent", &[P::Int, P::Str], None, |x, a| {
        indent(x, i(&a[0]), s(&a[1]), true)
    });
    reg(m, "replace", &[P::Str, P::Str, P::Str], None, |x, a| {
        let out = s(&a[2]).replace(s(&a[0]), s(&a[1]));
        check_len(x, out.len())?;
        Ok(out.into())
    });
    reg(m, "plural", &[P::Str, P::Str, P::Int], None, |_, a| {
        Ok(if i(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    reg(m, "sha1sum", &[P::Str], None, |_, a| {
        Ok(crate::encoding::hex(&crate::hash::sha1(s(&a[0]).as_bytes())).into())
    });
    reg(m, "sha256sum", &[P::Str], None, |_, a| {
        Ok(crate::encoding::hex(&crate::hash::sha256(s(&a[0]).as_bytes())).into())
    });
    reg(m, "sha512sum", &[P::Str], None, |_, a| {
        Ok(crate::encoding::hex(&crate::hash::sha512(s(&a[0]).as_bytes())).into())
    });
    reg(m, "adler32sum", &[P::Str], None, |_, a| {
        Ok(crate::encoding::adler32(s(&a[0]).as_bytes())
            .to_string()
            .into())
    });
    reg(m, "toString", &[P::Any], None, |_, a| {
        Ok(strval(&a[0]).into())
    });
    reg(m, "atoi", &[P::Str], None, |_, a| {
        Ok(Value::Int(s(&a[0]).parse::<i64>().unwrap_or(0)))
    });
    reg(m, "int64", &[P::Any], None, |_, a| {
        Ok(Value::Int(to_int64(&a[0])))
    });
    reg(m, "int", &[P::Any], None, |_, a| {
        Ok(Value::Int(to_int64(&a[0])))
    });
    reg(m, "float64", &[P::Any], None, |_, a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    reg(m, "toDecimal", &[P::Any], None, |_, a| {
        Ok(Value::Int(
            i64::from_str_radix(&strval(&a[0]), 8).unwrap_or(0),
        ))
    });
    reg(m, "seq", &[], Some(P::Int), seq);
    reg(m, "split", &[P::Str, P::Str], None, |_, a| {
        let parts: Map = s(&a[1])
            .split(s(&a[0]))
            .enumerate()
            .map(|(n, p)| (format!("_{n}"), Value::from(p)))
            .collect();
        Ok(Value::map(parts))
    });
    reg(m, "splitList", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::list(
            go_split(s(&a[1]), s(&a[0]), -1)
                .into_iter()
                .map(Value::from)
                .collect(),
        ))
    });
    reg(m, "splitn", &[P::Str, P::Int, P::Str], None, |_, a| {
        let parts: Map = go_split(s(&a[2]), s(&a[0]), i(&a[1]))
            .into_iter()
            .enumerate()
            .map(|(n, p)| (format!("_{n}"), Value::from(p)))
            .collect();
        Ok(Value::map(parts))
    });
    reg(m, "toStrings", &[P::Any], None, |_, a| {
        Ok(Value::list(
            strslice(&a[0]).into_iter().map(Value::from).collect(),
        ))
    });
    reg(m, "until", &[P::Int], None, |x, a| {
        until_step(x, 0, i(&a[0]), if i(&a[0]) < 0 { -1 } else { 1 })
    });
    reg(m, "untilStep", &[P::Int, P::Int, P::Int], None, |x, a| {
        until_step(x, i(&a[0]), i(&a[1]), i(&a[2]))
    });
    reg(m, "join", &[P::Str, P::Any], None, |_, a| {
        Ok(strslice(&a[1]).join(s(&a[0])).into())
    });
    reg(m, "sortAlpha", &[P::Any], None, |_, a| {
        let mut v = match &a[0] {
            Value::List(_) => strslice(&a[0]),
            other => vec![strval(other)],
        };
        v.sort();
        Ok(Value::list(v.into_iter().map(Value::from).collect()))
    });
    reg(m, "abbrev", &[P::Int, P::Str], None, |_, a| {
        Ok(abbrev(s(&a[1]), 0, i(&a[0])).into())
    });
    reg(m, "abbrevboth", &[P::Int, P::Int, P::Str], None, |_, a| {
        Ok(abbrev(s(&a[2]), i(&a[0]), i(&a[1])).into())
    });
    reg(m, "trunc", &[P::Int, P::Str], None, |_, a| {
        let (c, st) = (i(&a[0]), s(&a[1]));
        let b = st.as_bytes();
        let out = if c < 0 && b.len() as i64 + c > 0 {
            &b[(b.len() as i64 + c) as usize..]
        } else if c >= 0 && b.len() as i64 > c {
            &b[..c as usize]
        } else {
            b
        };
        Ok(String::from_utf8_lossy(out).into_owned().into())
    });

    // Defaults and flow.
    reg(m, "default", &[P::Any], Some(P::Any), |_, a| {
        if a.len() < 2 || !a[1].truth() {
            return Ok(a[0].clone());
        }
        Ok(a[1].clone())
    });
    reg(m, "empty", &[P::Any], None, |_, a| {
        Ok(Value::Bool(!a[0].truth()))
    });
    reg(m, "coalesce", &[], Some(P::Any), |_, a| {
        Ok(a.iter().find(|v| v.truth()).cloned().unwrap_or_default())
    });
    reg(m, "all", &[], Some(P::Any), |_, a| {
        Ok(Value::Bool(a.iter().all(Value::truth)))
    });
    reg(m, "any", &[], Some(P::Any), |_, a| {
        Ok(Value::Bool(a.iter().any(Value::truth)))
    });
    reg(m, "ternary", &[P::Any, P::Any, P::Bool], None, |_, a| {
        Ok(if a[2].truth() {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    reg(m, "fail", &[P::Str], None, |_, a| Err(s(&a[0]).to_string()));
    reg(m, "toJson", &[P::Any], None, |_, a| {
        Ok(crate::json::to_json(&a[0], false)
            .unwrap_or_default()
            .into())
    });
    reg(m, "mustToJson", &[P::Any], None, |_, a| {
        crate::json::to_json(&a[0], false).map(Value::from)
    });
    reg(m, "toPrettyJson", &[P::Any], None, |_, a| {
        Ok(crate::json::to_pretty_json(&a[0], true)
            .unwrap_or_default()
            .into())
    });
    reg(m, "mustToPrettyJson", &[P::Any], None, |_, a| {
        crate::json::to_pretty_json(&a[0], true).map(Value::from)
    });
    reg(m, "toRawJson", &[P::Any], None, |_, a| {
        Ok(crate::json::to_json(&a[0], true).unwrap_or_default().into())
    });
    reg(m, "mustToRawJson", &[P::Any], None, |_, a| {
        crate::json::to_json(&a[0], true).map(Value::from)
    });
    reg(m, "deepCopy", &[P::Any], None, |_, a| Ok(a[0].deep_copy()));
    reg(m, "mustDeepCopy", &[P::Any], None, |_, a| {
        if a[0].is_nil() {
            return Err("copy: cannot copy nil".into());
        }
        Ok(a[0].deep_copy())
    });

    // Reflection.
    reg(m, "typeOf", &[P::Any], None, |_, a| {
        Ok(go_type(&a[0]).into())
    });
    reg(m, "typeIs", &[P::Str, P::Any], None, |_, a| {
        Ok(Value::Bool(go_type(&a[1]) == s(&a[0])))
    });
    reg(m, "typeIsLike", &[P::Str, P::Any], None, |_, a| {
        let t = go_type(&a[1]);
        Ok(Value::Bool(t == s(&a[0]) || format!("*{t}") == s(&a[0])))
    });
    reg(m, "kindOf", &[P::Any], None, |_, a| {
        Ok(a[0].kind_name().into())
    });
    reg(m, "kindIs", &[P::Str, P::Any], None, |_, a| {
        Ok(Value::Bool(a[1].kind_name() == s(&a[0])))
    });
    reg(m, "deepEqual", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(a[0].deep_eq(&a[1])))
    });

    // Math.
    reg(m, "add1", &[P::Any], None, |_, a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_add(1)))
    });
    reg(m, "add", &[], Some(P::Any), |_, a| {
        Ok(Value::Int(
            a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))),
        ))
    });
    reg(m, "sub", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    reg(m, "div", &[P::Any, P::Any], None, |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_div(d)))
    });
    reg(m, "mod", &[P::Any, P::Any], None, |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_rem(d)))
    });
    reg(m, "mul", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Int(
            a.iter().fold(1i64, |s, v| s.wrapping_mul(to_int64(v))),
        ))
    });
    reg(m, "max", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))
    });
    reg(m, "biggest", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))
    });
    reg(m, "min", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Int(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    reg(m, "maxf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    reg(m, "minf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
        ))
    });
    reg(m, "add1f", &[P::Any], None, |_, a| {
        Ok(Value::Float(decimal_op(to_float64(&a[0]), 1.0, '+')))
    });
    reg(m, "addf", &[], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a.iter()
                .map(to_float64)
                .fold(0.0, |s, v| decimal_op(s, v, '+')),
        ))
    });
    reg(m, "subf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), |s, v| decimal_op(s, v, '-')),
        ))
    });
    reg(m, "mulf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), |s, v| decimal_op(s, v, '*')),
        ))
    });
    reg(m, "divf", &[P::Any], Some(P::Any), |_, a| {
        let mut acc = to_float64(&a[0]);
        for v in &a[1..] {
            let d = to_float64(v);
            if d == 0.0 {
                return Err("decimal division by 0".into());
            }
            acc = decimal_op(acc, d, '/');
        }
        Ok(Value::Float(acc))
    });
    reg(m, "floor", &[P::Any], None, |_, a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    reg(m, "ceil", &[P::Any], None, |_, a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    reg(m, "round", &[P::Any, P::Int], Some(P::Any), |_, a| {
        let x = to_float64(&a[0]);
        let p = i(&a[1]);
        let half = a.get(2).map(to_float64).unwrap_or(0.5);
        let pow = 10f64.powi(p as i32);
        let digit = pow * x;
        let (int, frac) = (digit.trunc(), digit.fract());
        let r = if frac.abs() >= half {
            int + frac.signum()
        } else {
            int
        };
        Ok(Value::Float(r / pow))
    });

    // Lists.
    reg(m, "list", &[], Some(P::Any), |_, a| Ok(Value::list(a)));
    reg(m, "tuple", &[], Some(P::Any), |_, a| Ok(Value::list(a)));
    for (name, must) in [("first", false), ("mustFirst", true)] {
        let f: crate::exec::FuncImpl = if must {
            |_, a| {
                list_op(&a[0], "first", true, |l| {
                    Ok(l.first().cloned().unwrap_or_default())
                })
            }
        } else {
            |_, a| {
                list_op(&a[0], "first", false, |l| {
                    Ok(l.first().cloned().unwrap_or_default())
                })
            }
        };
        reg(m, name, &[P::Any], None, f);
    }
    reg(m, "last", &[P::Any], None, |_, a| {
        list_op(&a[0], "last", false, |l| {
            Ok(l.last().cloned().unwrap_or_default())
        })
    });
    reg(m, "mustLast", &[P::Any], None, |_, a| {
        list_op(&a[0], "last", true, |l| {
            Ok(l.last().cloned().unwrap_or_default())
        })
    });
    reg(m, "rest", &[P::Any], None, |_, a| {
        list_op(&a[0], "rest", false, |l| {
            Ok(Value::list(l.get(1..).unwrap_or_default().to_vec()))
        })
    });
    reg(m, "mustRest", &[P::Any], None, |_, a| {
        list_op(&a[0], "rest", true, |l| {
            Ok(Value::list(l.get(1..).unwrap_or_default().to_vec()))
        })
    });
    reg(m, "initial", &[P::Any], None, |_, a| {
        list_op(&a[0], "initial", false, |l| {
            Ok(Value::list(l[..l.len().saturating_sub(1)].to_vec()))
        })
    });
    reg(m, "mustInitial", &[P::Any], None, |_, a| {
        list_op(&a[0], "initial", true, |l| {
            Ok(Value::list(l[..l.len().saturating_sub(1)].to_vec()))
        })
    });
    reg(m, "append", &[P::Any, P::Any], None, |_, a| {
        push(&a[0], &a[1], "append")
    });
    reg(m, "push", &[P::Any, P::Any], None, |_, a| {
        push(&a[0], &a[1], "push")
    });
    reg(m, "mustAppend", &[P::Any, P::Any], None, |_, a| {
        push(&a[0], &a[1], "append")
    });
    reg(m, "mustPush", &[P::Any, P::Any], None, |_, a| {
        push(&a[0], &a[1], "push")
    });
    reg(m, "prepend", &[P::Any, P::Any], None, |_, a| {
        prepend(&a[0], &a[1])
    });
    reg(m, "mustPrepend", &[P::Any, P::Any], None, |_, a| {
        prepend(&a[0], &a[1])
    });
    reg(m, "concat", &[], Some(P::Any), |_, a| {
        let mut out = Vec::new();
        for l in &a {
            match as_list(l) {
                Some(items) => out.extend(items),
                None => return Err(format!("Cannot concat type {} as list", l.kind_name())),
            }
        }
        Ok(Value::list(out))
    });
    reg(m, "reverse", &[P::Any], None, |_, a| {
        list_op(&a[0], "reverse", false, |l| {
            Ok(Value::list(l.iter().rev().cloned().collect()))
        })
    });
    reg(m, "mustReverse", &[P::Any], None, |_, a| {
        list_op(&a[0], "reverse", true, |l| {
            Ok(Value::list(l.iter().rev().cloned().collect()))
        })
    });
    reg(m, "uniq", &[P::Any], None, |_, a| {
        list_op(&a[0], "uniq", false, |l| Ok(Value::list(uniq(l))))
    });
    reg(m, "mustUniq", &[P::Any], None, |_, a| {
        list_op(&a[0], "uniq", true, |l| Ok(Value::list(uniq(l))))
    });
    reg(m, "without", &[P::Any], Some(P::Any), |_, a| {
        without(&a, false)
    });
    reg(m, "mustWithout", &[P::Any], Some(P::Any), |_, a| {
        without(&a, true)
    });
    reg(m, "has", &[P::Any, P::Any], None, |_, a| has(&a[0], &a[1]));
    reg(m, "mustHas", &[P::Any, P::Any], None, |_, a| {
        has(&a[0], &a[1])
    });
    reg(m, "compact", &[P::Any], None, |_, a| {
        list_op(&a[0], "compact", false, |l| {
            Ok(Value::list(
                l.iter().filter(|v| v.truth()).cloned().collect(),
            ))
        })
    });
    reg(m, "mustCompact", &[P::Any], None, |_, a| {
        list_op(&a[0], "compact", true, |l| {
            Ok(Value::list(
                l.iter().filter(|v| v.truth()).cloned().collect(),
            ))
        })
    });
    reg(m, "slice", &[P::Any], Some(P::Any), |_, a| slice(&a));
    reg(m, "mustSlice", &[P::Any], Some(P::Any), |_, a| slice(&a));
    reg(m, "chunk", &[P::Int, P::Any], None, |_, a| {
        chunk(i(&a[0]), &a[1])
    });
    reg(m, "mustChunk", &[P::Int, P::Any], None, |_, a| {
        chunk(i(&a[0]), &a[1])
    });

    // Dicts.
    reg(m, "dict", &[], Some(P::Any), |_, a| {
        let mut d = Map::new();
        for pair in a.chunks(2) {
            let k = strval(&pair[0]);
            d.insert(k, pair.get(1).cloned().unwrap_or_else(|| Value::from("")));
        }
        Ok(Value::map(d))
    });
    reg(m, "get", &[P::Map, P::Str], None, |_, a| {
        Ok(a[0].get(s(&a[1])).unwrap_or_else(|| Value::from("")))
    });
    reg(m, "set", &[P::Map, P::Str, P::Any], None, |_, a| {
        if let Value::Map(d) = &a[0] {
            d.borrow_mut().insert(s(&a[1]).to_string(), a[2].clone());
        }
        Ok(a[0].clone())
    });
    reg(m, "unset", &[P::Map, P::Str], None, |_, a| {
        if let Value::Map(d) = &a[0] {
            d.borrow_mut().remove(s(&a[1]));
        }
        Ok(a[0].clone())
    });
    reg(m, "hasKey", &[P::Map, P::Str], None, |_, a| {
        Ok(Value::Bool(
            a[0].as_map()
                .is_some_and(|d| d.borrow().contains_key(s(&a[1]))),
        ))
    });
    reg(m, "pluck", &[P::Str], Some(P::Map), |_, a| {
        Ok(Value::list(
            a[1..].iter().filter_map(|d| d.get(s(&a[0]))).collect(),
        ))
    });
    reg(m, "keys", &[], Some(P::Map), |_, a| {
        let mut out = Vec::new();
        for d in &a {
            if let Value::Map(d) = d {
                out.extend(d.borrow().keys().map(|k| Value::from(k.as_str())));
            }
        }
        Ok(Value::list(out))
    });
    reg(m, "values", &[P::Map], None, |_, a| {
        Ok(Value::list(
            a[0].as_map()
                .map(|d| d.borrow().values().cloned().collect())
                .unwrap_or_default(),
        ))
    });
    reg(m, "pick", &[P::Map], Some(P::Str), |_, a| {
        let d = a[0]
            .as_map()
            .map(|d| d.borrow().clone())
            .unwrap_or_default();
        Ok(Value::map(
            a[1..]
                .iter()
                .filter_map(|k| d.get(s(k)).map(|v| (s(k).to_string(), v.clone())))
                .collect(),
        ))
    });
    reg(m, "omit", &[P::Map], Some(P::Str), |_, a| {
        let mut d = a[0]
            .as_map()
            .map(|d| d.borrow().clone())
            .unwrap_or_default();
        for k in &a[1..] {
            d.remove(s(k));
        }
        Ok(Value::map(d))
    });
    reg(m, "dig", &[], Some(P::Any), dig);
    reg(m, "merge", &[P::Map], Some(P::Map), |_, a| merge(&a, false));
    reg(m, "mustMerge", &[P::Map], Some(P::Map), |_, a| {
        merge(&a, false)
    });
    reg(m, "mergeOverwrite", &[P::Map], Some(P::Map), |_, a| {
        merge(&a, true)
    });
    reg(m, "mustMergeOverwrite", &[P::Map], Some(P::Map), |_, a| {
        merge(&a, true)
    });

    // Encoding.
    reg(m, "b64enc", &[P::Str], None, |_, a| {
        Ok(crate::encoding::base64_encode(s(&a[0]).as_bytes()).into())
    });
    reg(m, "b64dec", &[P::Str], None, |_, a| {
        Ok(match crate::encoding::base64_decode(s(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned().into(),
            Err(e) => e.into(),
        })
    });
    reg(m, "b32enc", &[P::Str], None, |_, a| {
        Ok(crate::encoding::base32_encode(s(&a[0]).as_bytes()).into())
    });
    reg(m, "b32dec", &[P::Str], None, |_, a| {
        Ok(match crate::encoding::base32_decode(s(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned().into(),
            Err(e) => e.into(),
        })
    });

    // Regular expressions.
    reg(m, "regexMatch", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(
            regex(s(&a[0]))
                .map(|r| r.is_match(s(&a[1])))
                .unwrap_or(false),
        ))
    });
    reg(m, "mustRegexMatch", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(regex(s(&a[0]))?.is_match(s(&a[1]))))
    });
    reg(
        m,
        "regexFindAll",
        &[P::Str, P::Str, P::Int],
        None,
        |_, a| regex_find_all(&a, false),
    );
    reg(
        m,
        "mustRegexFindAll",
        &[P::Str, P::Str, P::Int],
        None,
        |_, a| regex_find_all(&a, true),
    );
    reg(m, "regexFind", &[P::Str, P::Str], None, |_, a| {
        Ok(regex(s(&a[0]))
            .ok()
            .and_then(|r| r.find(s(&a[1])).map(|m| m.as_str().to_string()))
            .unwrap_or_default()
            .into())
    });
    reg(m, "mustRegexFind", &[P::Str, P::Str], None, |_, a| {
        Ok(regex(s(&a[0]))?
            .find(s(&a[1]))
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()
            .into())
    });
    reg(
        m,
        "regexReplaceAll",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            Ok(regex(s(&a[0]))
                .map(|r| r.replace_all(s(&a[1]), s(&a[2])).into_owned())
                .unwrap_or_default()
                .into())
        },
    );
    reg(
        m,
        "mustRegexReplaceAll",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            Ok(regex(s(&a[0]))?
                .replace_all(s(&a[1]), s(&a[2]))
                .into_owned()
                .into())
        },
    );
    reg(
        m,
        "regexReplaceAllLiteral",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            Ok(regex(s(&a[0]))
                .map(|r| {
                    r.replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                        .into_owned()
                })
                .unwrap_or_default()
                .into())
        },
    );
    reg(
        m,
        "mustRegexReplaceAllLiteral",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            Ok(regex(s(&a[0]))?
                .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                .into_owned()
                .into())
        },
    );
    reg(m, "regexSplit", &[P::Str, P::Str, P::Int], None, |_, a| {
        regex_split(&a, false)
    });
    reg(
        m,
        "mustRegexSplit",
        &[P::Str, P::Str, P::Int],
        None,
        |_, a| regex_split(&a, true),
    );
    reg(m, "regexQuoteMeta", &[P::Str], None, |_, a| {
        Ok(regex::escape(s(&a[0])).into())
    });

    // Semantic versions.
    reg(m, "semver", &[P::Str], None, |_, a| {
        crate::semver::Version::parse(s(&a[0])).map(|v| Value::Object(Rc::new(v)))
    });
    reg(m, "semverCompare", &[P::Str, P::Str], None, |_, a| {
        let c = crate::semver::Constraints::parse(s(&a[0]))?;
        let v = crate::semver::Version::parse(s(&a[1]))?;
        Ok(Value::Bool(c.check(&v)))
    });

    // Paths and URLs.
    reg(m, "base", &[P::Str], None, |_, a| {
        Ok(crate::path::base(s(&a[0])).into())
    });
    reg(m, "dir", &[P::Str], None, |_, a| {
        Ok(crate::path::dir(s(&a[0])).into())
    });
    reg(m, "clean", &[P::Str], None, |_, a| {
        Ok(crate::path::clean(s(&a[0])).into())
    });
    reg(m, "ext", &[P::Str], None, |_, a| {
        Ok(crate::path::ext(s(&a[0])).into())
    });
    reg(m, "isAbs", &[P::Str], None, |_, a| {
        Ok(Value::Bool(s(&a[0]).starts_with('/')))
    });
    reg(m, "osBase", &[P::Str], None, |_, a| {
        Ok(crate::path::base(s(&a[0])).into())
    });
    reg(m, "osDir", &[P::Str], None, |_, a| {
        Ok(crate::path::dir(s(&a[0])).into())
    });
    reg(m, "osClean", &[P::Str], None, |_, a| {
        Ok(crate::path::clean(s(&a[0])).into())
    });
    reg(m, "osExt", &[P::Str], None, |_, a| {
        Ok(crate::path::ext(s(&a[0])).into())
    });
    reg(m, "osIsAbs", &[P::Str], None, |_, a| {
        Ok(Value::Bool(s(&a[0]).starts_with('/')))
    });
    reg(m, "urlParse", &[P::Str], None, |_, a| {
        crate::url::parse(s(&a[0]))
    });
    reg(m, "urlJoin", &[P::Map], None, |_, a| {
        Ok(crate::url::join(&a[0]).into())
    });

    // Dates.
    crate::time::register(m);

    // AES-256-CBC as Sprig does it: the password's bytes as the key (cut or zero-padded to 32),
    // PKCS#7 padding, a random IV (seeded here) before the ciphertext, base64.
    reg(m, "encryptAES", &[P::Str, P::Str], None, |x, a| {
        let plain = s(&a[1]).as_bytes();
        if plain.is_empty() {
            return Ok("".into());
        }
        x.notes.insert("encryptAES".into());
        let mut iv = [0u8; 16];
        for b in iv.iter_mut() {
            *b = next_rand(x) as u8;
        }
        Ok(
            crate::encoding::base64_encode(&crate::hash::aes_cbc_encrypt(
                s(&a[0]).as_bytes(),
                &iv,
                plain,
            ))
            .into(),
        )
    });
    reg(m, "decryptAES", &[P::Str, P::Str], None, |_, a| {
        let text = s(&a[1]);
        if text.is_empty() {
            return Ok("".into());
        }
        let crypt = crate::encoding::base64_decode(text)?;
        crate::hash::aes_cbc_decrypt(s(&a[0]).as_bytes(), &crypt)
            .map(|p| Value::from(String::from_utf8_lossy(&p).into_owned()))
    });

    // Crypto that needs no keys.
    reg(m, "uuidv4", &[], None, |x, _| {
        x.notes.insert("uuidv4".into());
        let mut b = [0u8; 16];
        for byte in b.iter_mut() {
            *byte = next_rand(x) as u8;
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = crate::encoding::hex(&b);
        Ok(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
        .into())
    });
    for name in [
        "genPrivateKey",
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "buildCustomCert",
        "derivePassword",
        "bcrypt",
        "htpasswd",
    ] {
        reg(m, name, &[], Some(P::Any), |_, _| {
            Err("not supported by kiln's template engine yet (key and certificate generation and password hashes are not built)".into())
        });
    }
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{85}'
}

fn check_len(x: &Exec, n: usize) -> Result<(), String> {
    if n > x.limits().max_output {
        return Err(format!(
            "result of {n} bytes exceeds the limit of {} bytes",
            x.limits().max_output
        ));
    }
    Ok(())
}

fn repeat(x: &mut Exec, a: Vec<Value>) -> Res {
    let n = i(&a[0]);
    let st = s(&a[1]);
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    check_len(x, (n as usize).saturating_mul(st.len()))?;
    Ok(st.repeat(n as usize).into())
}

fn indent(x: &Exec, n: i64, v: &str, newline: bool) -> Res {
    let pad = " ".repeat(n.max(0) as usize);
    let lines = v.matches('\n').count() + 1;
    check_len(x, v.len() + lines.saturating_mul(pad.len()))?;
    let body = format!("{pad}{}", v.replace('\n', &format!("\n{pad}")));
    Ok(if newline { format!("\n{body}") } else { body }.into())
}

/// Go's strings.Title: the first letter of each word upper-cased.
fn title(st: &str) -> String {
    let mut out = String::with_capacity(st.len());
    let mut prev_sep = true;
    for c in st.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
        if c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '_') {
            prev_sep = true;
        }
    }
    out
}

fn untitle(st: &str) -> String {
    let mut out = String::with_capacity(st.len());
    let mut prev_space = true;
    for c in st.chars() {
        if prev_space && c.is_alphabetic() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

fn substr(start: i64, end: i64, st: &str) -> Res {
    let b = st.as_bytes();
    let len = b.len() as i64;
    let (lo, hi) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if lo < 0 || hi < lo || hi > len {
        return Err(format!(
            "runtime error: slice bounds out of range [{lo}:{hi}]"
        ));
    }
    Ok(String::from_utf8_lossy(&b[lo as usize..hi as usize])
        .into_owned()
        .into())
}

fn trim_all(st: &str, cut: &str) -> String {
    st.trim_matches(|c| cut.contains(c)).to_string()
}

/// Go's strings.SplitN (n < 0: all).
fn go_split(st: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = st.chars().map(|c| c.to_string()).collect();
        if n > 0 && (n as usize) < chars.len() {
            let mut out = chars[..n as usize - 1].to_vec();
            out.push(st.chars().skip(n as usize - 1).collect());
            return out;
        }
        return chars;
    }
    if n < 0 {
        return st.split(sep).map(str::to_string).collect();
    }
    st.splitn(n as usize, sep).map(str::to_string).collect()
}

fn seq(_: &mut Exec, a: Vec<Value>) -> Res {
    let p: Vec<i64> = a.iter().map(i).collect();
    let (start, step, end) = match p.len() {
        0 => return Ok("".into()),
        1 => (1, if p[0] < 1 { -1 } else { 1 }, p[0]),
        2 => (p[0], if p[1] < p[0] { -1 } else { 1 }, p[1]),
        3 => (p[0], p[1], p[2]),
        _ => return Ok("".into()),
    };
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok("".into());
    }
    let mut out = Vec::new();
    let mut v = start;
    while (step > 0 && v <= end) || (step < 0 && v >= end) {
        out.push(v.to_string());
        if out.len() > 1_000_000 {
            return Err("seq: more than 1000000 values".into());
        }
        v += step;
    }
    Ok(out.join(" ").into())
}

fn until_step(x: &Exec, start: i64, stop: i64, step: i64) -> Res {
    let mut v = Vec::new();
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return Ok(Value::list(v));
    }
    let count = ((stop - start).unsigned_abs() / step.unsigned_abs()) as usize;
    if count > x.limits().max_steps as usize {
        return Err(format!("until: {count} values exceed the step limit"));
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        v.push(Value::Int(i));
        i += step;
    }
    Ok(Value::list(v))
}

fn abbrev(st: &str, offset: i64, width: i64) -> String {
    let len = st.len() as i64;
    if st.is_empty() || width < 4 || len <= width {
        return if width < 4 && !st.is_empty() {
            String::new()
        } else {
            st.to_string()
        };
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    let b = st.as_bytes();
    if offset <= 4 {
        return format!("{}...", String::from_utf8_lossy(&b[..(width - 3) as usize]));
    }
    if width < 7 {
        return String::new();
    }
    if offset + width - 3 < len {
        let inner = abbrev(
            &String::from_utf8_lossy(&b[offset as usize..]),
            0,
            width - 3,
        );
        return format!("...{inner}");
    }
    format!(
        "...{}",
        String::from_utf8_lossy(&b[(len - (width - 3)) as usize..])
    )
}

fn wrap(st: &str, width: i64, sep: &str) -> String {
    let width = width.max(1) as usize;
    let mut out = Vec::new();
    for line in st.split('\n') {
        let mut cur = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            if !cur.is_empty() && cur.len() + 1 + word.len() > width {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        out.push(cur);
    }
    out.join(sep)
}

fn snake_case(st: &str, sep: char) -> String {
    let chars: Vec<char> = st.chars().collect();
    let mut out = String::new();
    for (k, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = k.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(k + 1);
            if k > 0
                && prev.is_some_and(|p| p != sep && p != '_' && p != '-' && p != ' ')
                && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                    || next.is_some_and(|n| n.is_lowercase()))
            {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else if c == '_' || c == '-' || c == ' ' {
            if !out.ends_with(sep) && !out.is_empty() {
                out.push(sep);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// huandu/xstrings' ToCamelCase: leading underscores kept, `_x` becomes `X`, `__` keeps one.
fn camel_case(st: &str) -> String {
    let mut out = String::new();
    let mut chars = st.chars().peekable();
    while chars.peek() == Some(&'_') {
        out.push('_');
        chars.next();
    }
    let Some(first) = chars.next() else {
        return out;
    };
    let mut r0 = first.to_uppercase().next().unwrap_or(first);
    for c in chars {
        let r1 = r0;
        r0 = c;
        if r1 == '_' && r0 == '_' {
            out.push(r1);
            continue;
        }
        if r1 == '_' {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

const CHARS_ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const CHARS_ALPHA: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHARS_ASCII: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// The next value of the execution's seeded generator (splitmix64).
pub fn next_rand(x: &mut Exec) -> u64 {
    x.seed = x.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x.seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rand_string(x: &mut Exec, n: i64, chars: &str) -> Res {
    x.notes.insert("random".into());
    check_len(x, n.max(0) as usize)?;
    let chars: Vec<char> = chars.chars().collect();
    Ok((0..n.max(0))
        .map(|_| chars[(next_rand(x) % chars.len() as u64) as usize])
        .collect::<String>()
        .into())
}

fn list_op(v: &Value, name: &str, must: bool, f: impl Fn(&[Value]) -> Res) -> Res {
    match as_list(v) {
        Some(l) => f(&l),
        None if v.is_nil() && !must => Ok(Value::Nil),
        None => Err(format!("Cannot find {name} on type {}", v.kind_name())),
    }
}

fn push(list: &Value, v: &Value, name: &str) -> Res {
    match as_list(list) {
        Some(mut l) => {
            l.push(v.clone());
            Ok(Value::list(l))
        }
        None => Err(format!("Cannot {name} on type {}", list.kind_name())),
    }
}

fn prepend(list: &Value, v: &Value) -> Res {
    match as_list(list) {
        Some(mut l) => {
            l.insert(0, v.clone());
            Ok(Value::list(l))
        }
        None => Err(format!("Cannot prepend on type {}", list.kind_name())),
    }
}

fn uniq(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.iter().any(|o| o.deep_eq(v)) {
            out.push(v.clone());
        }
    }
    out
}

fn without(a: &[Value], must: bool) -> Res {
    list_op(&a[0], "without", must, |l| {
        Ok(Value::list(
            l.iter()
                .filter(|v| !a[1..].iter().any(|o| o.deep_eq(v)))
                .cloned()
                .collect(),
        ))
    })
}

fn has(needle: &Value, haystack: &Value) -> Res {
    if haystack.is_nil() {
        return Ok(Value::Bool(false));
    }
    match as_list(haystack) {
        Some(l) => Ok(Value::Bool(l.iter().any(|v| v.deep_eq(needle)))),
        None => Err(format!("Cannot find has on type {}", haystack.kind_name())),
    }
}

fn slice(a: &[Value]) -> Res {
    let Some(l) = as_list(&a[0]) else {
        return Err(format!(
            "list should be type of slice or array but {}",
            a[0].kind_name()
        ));
    };
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(to_int64).unwrap_or(0);
    let end = if a.len() < 3 {
        l.len() as i64
    } else {
        to_int64(&a[2])
    };
    if start < 0 || end < start || end > l.len() as i64 {
        return Err(format!("reflect: slice index out of range [{start}:{end}]"));
    }
    Ok(Value::list(l[start as usize..end as usize].to_vec()))
}

fn chunk(size: i64, list: &Value) -> Res {
    let Some(l) = as_list(list) else {
        return Err(format!("Cannot chunk type {}", list.kind_name()));
    };
    if size <= 0 {
        return Err("runtime error: integer divide by zero".into());
    }
    Ok(Value::list(
        l.chunks(size as usize)
            .map(|c| Value::list(c.to_vec()))
            .collect(),
    ))
}

fn dig(_: &mut Exec, a: Vec<Value>) -> Res {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let Value::Map(dict) = &a[a.len() - 1] else {
        return Err(format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            a[a.len() - 1].type_name()
        ));
    };
    let def = a[a.len() - 2].clone();
    let mut cur = Value::Map(dict.clone());
    let keys = &a[..a.len() - 2];
    for (n, k) in keys.iter().enumerate() {
        let Value::String(k) = k else {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not string",
                k.type_name()
            ));
        };
        let Value::Map(m) = &cur else {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                cur.type_name()
            ));
        };
        let step = m.borrow().get(k.as_ref()).cloned();
        match step {
            None => return Ok(def),
            Some(v) if n + 1 == keys.len() => return Ok(v),
            Some(v) => cur = v,
        }
    }
    Ok(def)
}

/// mergo's Merge (overwrite false) and MergeWithOverwrite as Sprig calls them.
fn merge(a: &[Value], overwrite: bool) -> Res {
    let dst = match &a[0] {
        Value::Map(m) => m.clone(),
        _ => return Ok(a[0].clone()),
    };
    for src in &a[1..] {
        if let Value::Map(src) = src {
            if Rc::ptr_eq(&dst, src) {
                continue;
            }
            let src = src.borrow().clone();
            merge_into(&dst, &src, overwrite, 0);
        }
    }
    Ok(Value::Map(dst))
}

fn is_empty_value(v: &Value) -> bool {
    !v.truth()
}

pub(crate) fn merge_into(dst: &crate::value::MapRef, src: &Map, overwrite: bool, depth: usize) {
    if depth > 64 {
        return;
    }
    for (k, sv) in src {
        let dv = dst.borrow().get(k).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(k.clone(), Value::Nil);
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (sv, &dv)
            && !Rc::ptr_eq(sm, dm)
        {
            let sm = sm.borrow().clone();
            merge_into(dm, &sm, overwrite, depth + 1);
        }
        let dst_present = dv.as_ref().is_some_and(|d| !is_empty_value(d));
        if dst_present {
            if matches!(sv, Value::List(_)) && !overwrite {
                continue;
            }
            if matches!(sv, Value::Map(_)) && matches!(dv, Some(Value::Map(_))) {
                continue;
            }
        }
        if overwrite || dv.is_none() || dv.as_ref().is_some_and(is_empty_value) {
            dst.borrow_mut().insert(k.clone(), sv.clone());
        }
    }
}

fn regex(re: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(re).map_err(|e| {
        format!(
            "error parsing regexp: {}",
            e.to_string().lines().last().unwrap_or_default().trim()
        )
    })
}

fn regex_find_all(a: &[Value], must: bool) -> Res {
    let r = match regex(s(&a[0])) {
        Ok(r) => r,
        Err(e) if must => return Err(e),
        Err(_) => return Ok(Value::list(Vec::new())),
    };
    let n = i(&a[2]);
    let it = r.find_iter(s(&a[1])).map(|m| Value::from(m.as_str()));
    Ok(Value::list(if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    }))
}

fn regex_split(a: &[Value], must: bool) -> Res {
    let r = match regex(s(&a[0])) {
        Ok(r) => r,
        Err(e) if must => return Err(e),
        Err(_) => return Ok(Value::list(Vec::new())),
    };
    let n = i(&a[2]);
    let st = s(&a[1]);
    if n == 0 {
        return Ok(Value::list(Vec::new()));
    }
    if s(&a[0]).is_empty() && st.is_empty() {
        return Ok(Value::list(vec![Value::from("")]));
    }
    let parts: Vec<Value> = if n < 0 {
        r.split(st).map(Value::from).collect()
    } else {
        r.splitn(st, n as usize).map(Value::from).collect()
    };
    Ok(Value::list(parts))
}

fn go_type(v: &Value) -> String {
    match v {
        Value::Int(_) => "int".into(),
        Value::Nil => "<nil>".into(),
        v => v.type_name(),
    }
}

fn decimal_op(a: f64, b: f64, op: char) -> f64 {
    // shopspring/decimal on the shortest decimal forms of the operands, back to float64.
    let (da, db) = (Dec::from_f64(a), Dec::from_f64(b));
    let r = match op {
        '+' => da.add(&db),
        '-' => da.add(&db.neg()),
        '*' => da.mul(&db),
        _ => return (format!("{}", a / b)).parse().unwrap_or(a / b),
    };
    r.to_f64()
}

/// A small exact decimal: mantissa and power-of-ten exponent.
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    fn from_f64(f: f64) -> Dec {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap();
        let exp: i32 = exp.parse().unwrap_or(0);
        let neg = mant.starts_with('-');
        let mant = mant.trim_start_matches('-');
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int}{frac}");
        let m: i128 = digits.parse().unwrap_or(0);
        Dec {
            m: if neg { -m } else { m },
            e: exp - frac.len() as i32,
        }
    }
    fn neg(&self) -> Dec {
        Dec {
            m: -self.m,
            e: self.e,
        }
    }
    fn align(&self, e: i32) -> i128 {
        self.m
            .saturating_mul(10i128.saturating_pow((self.e - e).max(0) as u32))
    }
    fn add(&self, o: &Dec) -> Dec {
        let e = self.e.min(o.e);
        Dec {
            m: self.align(e).saturating_add(o.align(e)),
            e,
        }
    }
    fn mul(&self, o: &Dec) -> Dec {
        Dec {
            m: self.m.saturating_mul(o.m),
            e: self.e + o.e,
        }
    }
    fn to_f64(&self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(0.0)
    }
}
