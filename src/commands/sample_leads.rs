//! Made-up lead files for the demo and the import benchmark: valid US numbers across many area
//! codes and states, a share of deliberately broken rows, and some numbers repeated.

use std::io::Write;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// (area code, state) pairs spread over the US time zones.
const AREAS: &[(u16, &str)] = &[
    (201, "NJ"),
    (212, "NY"),
    (305, "FL"),
    (312, "IL"),
    (404, "GA"),
    (405, "OK"),
    (415, "CA"),
    (512, "TX"),
    (602, "AZ"),
    (617, "MA"),
    (702, "NV"),
    (720, "CO"),
    (808, "HI"),
    (907, "AK"),
    (915, "TX"),
    (206, "WA"),
];
const FIRST: &[&str] = &[
    "Ana", "Ben", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jamal",
];
const LAST: &[&str] = &[
    "Silva", "Okafor", "Nguyen", "Müller", "Smith", "García", "O'Brien", "Kowalski", "Haddad",
    "Lee",
];

/// Writes a header and `rows` data lines. About `bad_per_mille`/1000 rows are broken (bad
/// phone, bad priority, wrong field count) and 1 in 200 repeats an earlier number.
pub fn write(
    out: &mut impl Write,
    rows: usize,
    seed: u64,
    bad_per_mille: u32,
) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    writeln!(
        out,
        "phone,first_name,last_name,state,zip,email,priority,favourite_colour"
    )?;
    let mut last_phone = String::from("2015550100");
    for i in 0..rows {
        let (area, state) = AREAS[rng.gen_range(0..AREAS.len())];
        let mut phone = format!(
            "({area}) {}-{:04}",
            rng.gen_range(200..999),
            rng.gen_range(0..10_000)
        );
        if i % 200 == 199 {
            phone = last_phone.clone();
        }
        last_phone = phone.clone();
        let (first, last) = (
            FIRST[rng.gen_range(0..FIRST.len())],
            LAST[rng.gen_range(0..LAST.len())],
        );
        let colour = ["red", "green", "blue", ""][rng.gen_range(0..4)];
        if rng.gen_range(0..1000) < bad_per_mille {
            match rng.gen_range(0..3) {
                0 => writeln!(
                    out,
                    "555-01{:02},{first},{last},{state},,,0,{colour}",
                    rng.gen_range(0..100)
                )?,
                1 => writeln!(out, "\"{phone}\",{first},{last},{state},,,urgent,{colour}")?,
                _ => writeln!(out, "\"{phone}\",{first},{last}")?,
            }
            continue;
        }
        let email = format!("{}.{}@example.com", first.to_lowercase(), i);
        writeln!(
            out,
            "\"{phone}\",{first},\"{last}\",{state},,{email},{},{colour}",
            rng.gen_range(0..3)
        )?;
    }
    Ok(())
}

/// Numbers of eight countries around the clock (the numbering plans' fictional or public
/// ranges), so that some callees are inside calling hours at any hour of the day.
/// (prefix, country, digits that follow).
const WORLD: &[(&str, &str, usize)] = &[
    ("+44 20 7946 0", "GB", 3),
    ("+49 30 9018 2", "DE", 3),
    ("+33 1 42 68 5", "FR", 3),
    ("+91 22 2288 ", "IN", 4),
    ("+65 6123 ", "SG", 4),
    ("+81 3 3224 ", "JP", 4),
    ("+61 2 9374 4", "AU", 3),
    ("+64 9 309 ", "NZ", 4),
    ("+55 11 3003 ", "BR", 4),
];

/// A header and `rows` leads spread over [`WORLD`].
pub fn write_world(out: &mut impl Write, rows: usize, seed: u64) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    writeln!(out, "phone,first_name,last_name,country_name")?;
    for i in 0..rows {
        let (prefix, country, digits) = WORLD[i % WORLD.len()];
        let local: String = (0..digits)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect();
        let (first, last) = (
            FIRST[rng.gen_range(0..FIRST.len())],
            LAST[rng.gen_range(0..LAST.len())],
        );
        writeln!(out, "\"{prefix}{local}\",{first},\"{last}\",{country}")?;
    }
    Ok(())
}
