//! "How sure is this result?": turns a query's similarities into strong / weak / nothing relevant.
//!
//! Cosine similarities mean different things for different models (MiniLM scores unrelated text near 0.05,
//! BGE near 0.45), so no fixed cut-off fits them all. Instead each similarity is measured against the
//! model's own score distribution for that query: the query is compared with a fixed set of everyday
//! reference sentences on unrelated topics ([`REFERENCE_TEXTS`], embedded once per engine with the active
//! model), and a passage's similarity becomes a z-score, `(similarity − mean) / spread`, over those. A
//! passage that stands far above what the model gives unrelated text is a strong match; one that barely does
//! is weak. The two thresholds are in those model-independent units and were calibrated on the SciFact dev
//! split and on out-of-domain queries (docs/BENCHMARKS.md, "Confidence").
//!
//! Words count too: a passage that contains every word of the query (as FTS5 stems them) is a strong match
//! whatever its vector says (names, codes, rare terms the model does not know).

use serde::{Deserialize, Serialize};

/// A passage at least this many spreads above the reference mean is a strong match.
pub(crate) const Z_STRONG: f32 = 5.0;
/// Below this it is not related at all; between the two, weakly.
pub(crate) const Z_WEAK: f32 = 4.0;

/// How well one result matches the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// Not related: only the nearest passage there is (listed under "less related").
    Unrelated,
    /// Loosely related (listed under "less related").
    Weak,
    /// Clearly about the query, or containing all its words.
    Strong,
}

/// How well the best result matches: what the UI says above the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// At least one result clearly matches.
    Strong,
    /// Only weak matches: shown, but said to be loosely related.
    Weak,
    /// Nothing in the index is related to the query (the results, if any, are only the nearest passages).
    None,
}

/// Everyday sentences on unrelated topics, the yardstick of "unrelated" for the active model. Varied in
/// subject and form on purpose; none is about a topic a test or benchmark queries for.
pub(crate) const REFERENCE_TEXTS: &[&str] = &[
    "The bakery on the corner sells rye bread until noon.",
    "She repainted the garden fence a pale shade of green.",
    "Our quarterly budget review moved to Thursday afternoon.",
    "The violin needs new strings before the concert season.",
    "Penguins huddle together to survive the Antarctic winter.",
    "He forgot his umbrella on the tram again.",
    "The library extended its opening hours during exams.",
    "Chess openings reward careful preparation and patience.",
    "A leaking faucet can waste thousands of litres a year.",
    "The football match was postponed because of heavy snow.",
    "Volcanic soil makes the island's vineyards unusually fertile.",
    "Please remember to water the ferns on the balcony.",
    "The museum's new wing displays medieval armour.",
    "Knitting a scarf takes longer than most beginners expect.",
    "The committee approved the new parking regulations.",
    "Fresh basil loses its aroma quickly in the fridge.",
    "The lighthouse keeper logged every passing ship.",
    "Solar panels were installed on the school roof last spring.",
    "My grandmother kept her letters in a wooden box.",
    "The orchestra rehearsed the symphony's final movement.",
    "Cats often sleep for more than twelve hours a day.",
    "The hiking trail closes at dusk for safety reasons.",
    "Interest rates rose for the third month in a row.",
    "A good mattress makes a surprising difference to sleep.",
    "The children built a snowman with a carrot nose.",
    "The printer on the second floor is out of toner.",
    "Bees communicate the location of flowers by dancing.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Traffic on the motorway was slow because of roadworks.",
    "The poet read her new collection at the bookshop.",
    "Wind turbines lined the ridge above the valley.",
    "He practised the piano scales every morning before work.",
    "The town council debated the cost of a new bridge.",
    "Owls can rotate their heads remarkably far.",
    "The marathon route passes through the old harbour.",
    "Our neighbours adopted a rescue dog named Pepper.",
    "The pottery class meets on Wednesday evenings.",
    "A sudden thunderstorm flooded the village square.",
    "The invoice must be paid within thirty days.",
    "Tomorrow's forecast promises sunshine and a light breeze.",
    "The sculpture was carved from a single block of marble.",
    "Teenagers queued overnight for the concert tickets.",
    "The bicycle's chain needs oiling after the rain.",
    "Coral reefs shelter a quarter of all marine species.",
    "The hotel lobby was decorated with paper lanterns.",
    "She measured the window before ordering new curtains.",
    "The train to the coast leaves from platform four.",
    "A new species of frog was described in the rainforest.",
    "The company picnic will be held by the lake.",
    "He translated the cookbook from Portuguese.",
    "The old mill now houses a small cinema.",
    "Strawberries ripen faster in a warm greenhouse.",
    "The referee showed the defender a yellow card.",
    "Our flat gets very little light in the winter months.",
    "The astronaut described the view of Earth at night.",
    "The choir sang carols in the town square.",
    "Dust had gathered on the shelves of the attic.",
    "The ferry was cancelled because of rough seas.",
    "A kettle of hawks circled above the cornfield.",
    "The tailor shortened the sleeves of his jacket.",
    "The software update changed the colour of the icons.",
    "The farmers' market opens at seven on Saturdays.",
    "Her essay on river pollution won a regional prize.",
    "The clock tower chimes every quarter of an hour.",
];

/// The reference sentences' vectors for the active model (rows of `dim` floats).
pub(crate) struct Yardstick {
    dim: usize,
    vectors: Vec<f32>,
}

/// A query's reference statistics: what the active model gives unrelated text for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    mean: f32,
    spread: f32,
}

impl Yardstick {
    pub(crate) fn new(dim: usize, vectors: &[Vec<f32>]) -> Yardstick {
        let vectors = vectors
            .iter()
            .filter(|v| v.len() == dim)
            .flat_map(|v| v.iter().copied())
            .collect();
        Yardstick { dim, vectors }
    }

    /// The mean and spread of the query's similarity to the reference sentences. `None` without enough
    /// references to measure (never, with [`REFERENCE_TEXTS`]).
    pub(crate) fn scale(&self, query: &[f32]) -> Option<Scale> {
        if self.dim == 0 || query.len() != self.dim {
            return None;
        }
        let sims: Vec<f32> = self
            .vectors
            .chunks_exact(self.dim)
            .map(|v| v.iter().zip(query).map(|(a, b)| a * b).sum())
            .collect();
        if sims.len() < 8 {
            return None;
        }
        let n = sims.len() as f32;
        let mean = sims.iter().sum::<f32>() / n;
        let var = sims.iter().map(|s| (s - mean) * (s - mean)).sum::<f32>() / (n - 1.0);
        // A floor on the spread keeps a degenerate model (all references equally similar) from turning
        // tiny differences into huge z-scores.
        Some(Scale {
            mean,
            spread: var.sqrt().max(0.02),
        })
    }
}

impl Scale {
    /// How many spreads above the reference mean a similarity lies.
    pub(crate) fn z(&self, similarity: f32) -> f32 {
        (similarity - self.mean) / self.spread
    }

    /// A similarity lowered by `z` spreads.
    pub(crate) fn lower(&self, similarity: f32, z: f32) -> f32 {
        similarity - z * self.spread
    }
}

/// The strength of one result: its vector evidence (`z`; `None` when there is none: keyword mode, or a
/// passage without a vector yet) and whether it contains every query word. Without vector evidence a
/// passage that matched some words is weak.
pub(crate) fn strength(z: Option<f32>, all_words: bool) -> Strength {
    match z {
        _ if all_words => Strength::Strong,
        Some(z) if z >= Z_STRONG => Strength::Strong,
        Some(z) if z >= Z_WEAK => Strength::Weak,
        Some(_) => Strength::Unrelated,
        None => Strength::Weak,
    }
}

/// The response's confidence from its results' strengths.
pub(crate) fn overall(strengths: impl IntoIterator<Item = Strength>) -> Confidence {
    match strengths.into_iter().max() {
        Some(Strength::Strong) => Confidence::Strong,
        Some(Strength::Weak) => Confidence::Weak,
        Some(Strength::Unrelated) | None => Confidence::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn z_scores_are_relative_to_the_references() {
        // References spread around the first axis; a query along the second axis.
        let refs: Vec<Vec<f32>> = (0..16)
            .map(|i| unit(&[1.0, 0.02 * (i as f32 - 8.0), 0.3]))
            .collect();
        let y = Yardstick::new(3, &refs);
        let q = unit(&[0.0, 1.0, 0.0]);
        let s = y.scale(&q).unwrap();
        assert!(s.z(s.mean).abs() < 1e-5);
        assert!(s.z(0.9) > Z_STRONG, "{}", s.z(0.9));
        // The same raw similarity is strong against a low baseline and nothing against a high one.
        let high: Vec<Vec<f32>> = (0..16)
            .map(|i| unit(&[0.2, 1.0, 0.01 * i as f32]))
            .collect();
        let s_high = Yardstick::new(3, &high).scale(&q).unwrap();
        assert!(s_high.z(0.9) < Z_WEAK, "{}", s_high.z(0.9));
        // Wrong dimension or too few references: no scale.
        assert!(y.scale(&[1.0, 0.0]).is_none());
        assert!(Yardstick::new(3, &refs[..4]).scale(&q).is_none());
    }

    #[test]
    fn strength_and_overall() {
        assert_eq!(strength(Some(Z_STRONG), false), Strength::Strong);
        let between = (Z_STRONG + Z_WEAK) / 2.0;
        assert_eq!(strength(Some(between), false), Strength::Weak);
        assert_eq!(strength(Some(Z_WEAK - 0.5), false), Strength::Unrelated);
        assert_eq!(strength(None, true), Strength::Strong);
        assert_eq!(strength(Some(-1.0), true), Strength::Strong);
        assert_eq!(strength(None, false), Strength::Weak);
        use Strength::*;
        assert_eq!(overall([Unrelated, Weak]), Confidence::Weak);
        assert_eq!(overall([Weak, Strong, Unrelated]), Confidence::Strong);
        assert_eq!(overall([Unrelated, Unrelated]), Confidence::None);
        assert_eq!(overall([]), Confidence::None);
    }
}
