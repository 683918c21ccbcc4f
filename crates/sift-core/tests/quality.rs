//! Retrieval quality of the int8 model against fp32 on the SciFact dev split (`../shared/datasets`):
//! documents embedded whole (first 256 tokens), exact cosine search, nDCG@10 with trec_eval's definition.
//! The int8 model must stay within 0.005 nDCG@10 of fp32.

mod common;

use std::collections::HashMap;

use common::{embedder, shared_dir};
use sift_core::eval::{self, Missing, Run};
use sift_core::model::Precision;
use sift_core::ExactIndex;

fn ndcg(
    precision: Precision,
    ids: &[String],
    texts: &[String],
    queries: &[eval::Query],
    qrels: &eval::Qrels,
) -> f64 {
    let mut e = embedder(precision, 16);
    let vectors = e.embed_documents(texts).unwrap();
    let mut index = ExactIndex::new(384);
    for (i, v) in vectors.iter().enumerate() {
        index.insert(i as i64, &v.vector);
    }
    let mut run: Run = HashMap::new();
    for q in queries {
        let qv = e.embed_query(&q.text).unwrap();
        run.insert(
            q.id.clone(),
            index
                .search(&qv, 100)
                .into_iter()
                .map(|(i, _)| ids[i as usize].clone())
                .collect(),
        );
    }
    eval::evaluate(&run, qrels, 10, 100, Missing::Zero).ndcg
}

#[test]
fn int8_matches_fp32_retrieval_quality_on_the_dev_split() {
    let dir = shared_dir().join("datasets/scifact-dev");
    let dataset = eval::Dataset::open(&dir).expect("the SciFact dev split in ../shared/datasets");
    // Every 2nd judged query; corpus = their relevant documents plus every 3rd other document as distractors.
    let queries: Vec<eval::Query> = dataset
        .queries
        .iter()
        .filter(|q| dataset.qrels.contains_key(&q.id))
        .step_by(2)
        .cloned()
        .collect();
    let qrels: eval::Qrels = queries
        .iter()
        .map(|q| (q.id.clone(), dataset.qrels[&q.id].clone()))
        .collect();
    let relevant: std::collections::HashSet<&String> =
        qrels.values().flat_map(|m| m.keys()).collect();
    let mut files: Vec<_> = std::fs::read_dir(&dataset.docs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut ids, mut texts) = (Vec::new(), Vec::new());
    for (i, p) in files.iter().enumerate() {
        let id = eval::doc_id(p);
        if relevant.contains(&id) || i % 3 == 0 {
            texts.push(std::fs::read_to_string(p).unwrap());
            ids.push(id);
        }
    }
    let fp32 = ndcg(Precision::Fp32, &ids, &texts, &queries, &qrels);
    let int8 = ndcg(Precision::Int8, &ids, &texts, &queries, &qrels);
    eprintln!(
        "{} docs, {} queries: nDCG@10 fp32 {fp32:.4}, int8 {int8:.4}",
        ids.len(),
        queries.len()
    );
    assert!(fp32 > 0.6, "fp32 quality is in the published range: {fp32}");
    assert!((int8 - fp32).abs() <= 0.005, "int8 {int8} vs fp32 {fp32}");
}
