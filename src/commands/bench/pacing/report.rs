//! What `bench pacing` measures per strategy and cell, and the Markdown it prints.

use std::fmt::Write;

use dialtone_sim::shift::ShiftResult;
use serde::Serialize;

use super::{CellResult, PacingArgs, CAP_PCT};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// Talk time over logged-in time.
    pub occupancy_pct: f64,
    pub talk_min_per_agent_hour: f64,
    /// Abandons (AMD false positives included) over live answers, pooled over the period.
    pub abandon_pct: f64,
    pub pacing_drop_pct: f64,
    pub amd_false_positive_pct: f64,
    pub shifts_over_cap_pct: f64,
    pub rolling_hours_over_cap_pct: f64,
    pub worst_rolling_hour_pct: f64,
    pub idle_gap_p50_secs: f64,
    pub idle_gap_p95_secs: f64,
    pub dials_per_connect: f64,
    pub peak_lines: u32,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

impl Metrics {
    pub fn of(shifts: &[ShiftResult]) -> Self {
        let talk: f64 = shifts.iter().map(|s| s.talk_secs).sum();
        let logged: f64 = shifts
            .iter()
            .map(|s| f64::from(s.agents) * s.shift_secs)
            .sum();
        let live: u64 = shifts.iter().map(|s| s.live).sum();
        let drops: u64 = shifts.iter().map(|s| s.abandons).sum();
        let fps: u64 = shifts.iter().map(|s| s.amd_false_positives).sum();
        let dials: u64 = shifts.iter().map(|s| s.dials).sum();
        let connected: u64 = shifts.iter().map(|s| s.connected).sum();
        let over = shifts
            .iter()
            .filter(|s| pct(s.abandons_total(), s.live) > CAP_PCT)
            .count();
        let (mut windows, mut windows_over, mut worst) = (0usize, 0usize, 0f64);
        for s in shifts {
            let prefix = |v: &[u32]| {
                v.iter()
                    .scan(0u64, |acc, &x| {
                        *acc += u64::from(x);
                        Some(*acc)
                    })
                    .collect::<Vec<u64>>()
            };
            let (live_sum, ab_sum) = (prefix(&s.live_per_minute), prefix(&s.abandons_per_minute));
            let minutes = (s.shift_secs / 60.0) as usize;
            for start in 0..=minutes.saturating_sub(60) {
                let at = |p: &[u64], m: usize| {
                    if m == 0 {
                        0
                    } else {
                        p.get(m - 1).copied().unwrap_or(0)
                    }
                };
                let l = at(&live_sum, start + 60) - at(&live_sum, start);
                let a = at(&ab_sum, start + 60) - at(&ab_sum, start);
                if l == 0 {
                    continue;
                }
                windows += 1;
                let rate = pct(a, l);
                worst = worst.max(rate);
                if rate > CAP_PCT {
                    windows_over += 1;
                }
            }
        }
        let mut gaps: Vec<f64> = shifts
            .iter()
            .flat_map(|s| s.idle_gaps.iter().copied())
            .collect();
        gaps.sort_by(f64::total_cmp);
        let occupancy = if logged > 0.0 {
            100.0 * talk / logged
        } else {
            0.0
        };
        Metrics {
            occupancy_pct: occupancy,
            talk_min_per_agent_hour: occupancy * 0.6,
            abandon_pct: pct(drops + fps, live),
            pacing_drop_pct: pct(drops, live),
            amd_false_positive_pct: pct(fps, live),
            shifts_over_cap_pct: pct(over as u64, shifts.len() as u64),
            rolling_hours_over_cap_pct: pct(windows_over as u64, windows as u64),
            worst_rolling_hour_pct: worst,
            idle_gap_p50_secs: quantile(&gaps, 0.5),
            idle_gap_p95_secs: quantile(&gaps, 0.95),
            dials_per_connect: if connected == 0 {
                0.0
            } else {
                dials as f64 / connected as f64
            },
            peak_lines: shifts.iter().map(|s| s.peak_lines).max().unwrap_or(0),
        }
    }

    pub fn summary(&self, strategy: &str) -> String {
        format!(
            "{strategy}: occupancy {:.1}%, abandon {:.2}%",
            self.occupancy_pct, self.abandon_pct
        )
    }
}

fn find<'a>(cell: &'a CellResult, strategy: &str) -> Option<&'a Metrics> {
    cell.rows
        .iter()
        .find(|r| r.strategy.starts_with(strategy))
        .map(|r| &r.metrics)
}

/// The targets for Dialtone predictive, checked against these results.
fn targets(results: &[CellResult]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let dialtone = |c: &CellResult| {
        c.rows
            .iter()
            .find(|r| r.strategy == "Dialtone predictive")
            .map(|r| r.metrics.clone())
            .unwrap_or_default()
    };
    let over: Vec<String> = results
        .iter()
        .filter(|c| dialtone(c).abandon_pct > CAP_PCT)
        .map(|c| {
            format!(
                "{} N={} {} ({:.2}%)",
                c.cell.scenario,
                c.cell.agents,
                c.cell.label,
                dialtone(c).abandon_pct
            )
        })
        .collect();
    out.push((
        format!(
            "pooled abandon ≤ {CAP_PCT}% in every cell{}",
            if over.is_empty() {
                String::new()
            } else {
                format!(": over in {}", over.join("; "))
            }
        ),
        over.is_empty(),
    ));
    let s1 = |n: u32, p: f64| {
        results.iter().find(|c| {
            c.cell.scenario == "S1" && c.cell.agents == n && (c.cell.hit_rate - p).abs() < 1e-9
        })
    };
    for (n, floor) in [(25, 85.0), (50, 88.0)] {
        if let Some(c) = s1(n, 0.1) {
            let occ = dialtone(c).occupancy_pct;
            out.push((
                format!("occupancy ≥ {floor}% at {n} agents, p=0.1: {occ:.1}%"),
                occ >= floor,
            ));
        }
    }
    for n in [5, 10] {
        for p in [0.1, 0.3] {
            if let (Some(c), true) = (s1(n, p), true) {
                let (d, t) = (
                    dialtone(c).occupancy_pct,
                    find(c, "VICIdial ADAPT_TAPERED").map_or(0.0, |m| m.occupancy_pct),
                );
                out.push((format!("≥ 10 points over ADAPT_TAPERED at {n} agents, p={p}: {d:.1}% vs {t:.1}% (+{:.1})", d - t), d - t >= 10.0));
            }
        }
    }
    let below: Vec<String> = results
        .iter()
        .filter_map(|c| {
            let best = find(c, "best fixed ratio")?;
            let d = dialtone(c);
            (d.occupancy_pct < best.occupancy_pct).then(|| {
                format!(
                    "{} N={} {} ({:.1}% vs {:.1}%)",
                    c.cell.scenario,
                    c.cell.agents,
                    c.cell.label,
                    d.occupancy_pct,
                    best.occupancy_pct
                )
            })
        })
        .collect();
    out.push((
        format!(
            "never below the best fixed ratio{}",
            if below.is_empty() {
                String::new()
            } else {
                format!(": below in {}", below.join("; "))
            }
        ),
        below.is_empty(),
    ));
    out
}

pub fn markdown(results: &[CellResult], args: &PacingArgs, elapsed_secs: f64) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Seeds {}..{} ({} shifts per cell as one 30-day period); {elapsed_secs:.0} s.",
        args.seed,
        args.seed + args.shifts - 1,
        args.shifts
    );
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "| scenario | N | world | strategy | param | occupancy | talk min/h | abandon (pooled) | of which AMD FP | shifts >3% | rolling hours >3% | worst hour | idle gap p50/p95 s | dials/connect | peak lines |"
    );
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for c in results {
        for r in &c.rows {
            let m = &r.metrics;
            let param = match r.param {
                Some(p) => format!(
                    "{p:.2}{}",
                    if r.tuned_in_sample {
                        " (in-sample)"
                    } else {
                        ""
                    }
                ),
                None => "–".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {param} | {:.1}% | {:.1} | {:.2}% | {:.2}% | {:.0}% | {:.0}% | {:.1}% | {:.0}/{:.0} | {:.2} | {} |",
                c.cell.scenario,
                c.cell.agents,
                c.cell.label,
                r.strategy,
                m.occupancy_pct,
                m.talk_min_per_agent_hour,
                m.abandon_pct,
                m.amd_false_positive_pct,
                m.shifts_over_cap_pct,
                m.rolling_hours_over_cap_pct,
                m.worst_rolling_hour_pct,
                m.idle_gap_p50_secs,
                m.idle_gap_p95_secs,
                m.dials_per_connect,
                m.peak_lines
            );
        }
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "Targets for Dialtone predictive:");
    let _ = writeln!(md);
    for (what, met) in targets(results) {
        let _ = writeln!(md, "- {} {what}", if met { "met:" } else { "NOT met:" });
    }
    md
}
