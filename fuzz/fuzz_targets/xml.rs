//! s3s's XML deserialisation of the request bodies S3 takes, as the operations run it
//! (`s3s::fuzzing::deserialize_xml`: the document, then only whitespace): CompleteMultipartUpload,
//! DeleteObjects, CreateBucket, Put{Object,Bucket}Tagging, PutBucketVersioning,
//! PutBucketLifecycleConfiguration, PutBucketCors, Put{Object,Bucket}Acl.
//!
//! Input: one selector byte (the body type), then the body.
//! Asserts: no panic; a body that deserializes serializes, that XML deserializes again, and
//! serializing that gives the same XML (serialize . deserialize is a fixpoint).

#![no_main]

use libfuzzer_sys::fuzz_target;
use s3s::dto::{
    AccessControlPolicy, BucketLifecycleConfiguration, CORSConfiguration, CompletedMultipartUpload,
    CreateBucketConfiguration, Delete, Tagging, VersioningConfiguration,
};
use s3s::xml::{Deserialize, Serialize, Serializer};

fn to_xml<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = Serializer::new(&mut out);
    if let Err(e) = v.serialize(&mut ser) {
        panic!("a deserialized body does not serialize: {e:?}");
    }
    out
}

fn check<T>(body: &[u8])
where
    T: for<'xml> Deserialize<'xml> + Serialize,
{
    let Ok(v) = s3s::fuzzing::deserialize_xml::<T>(body) else {
        return;
    };
    let xml = to_xml(&v);
    match s3s::fuzzing::deserialize_xml::<T>(&xml) {
        Ok(again) => assert_eq!(
            String::from_utf8_lossy(&to_xml(&again)),
            String::from_utf8_lossy(&xml),
            "serialize . deserialize is not a fixpoint"
        ),
        Err(e) => panic!(
            "its own serialization does not deserialize: {e:?}\n{}",
            String::from_utf8_lossy(&xml)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 8 {
        0 => check::<CompletedMultipartUpload>(body),
        1 => check::<Delete>(body),
        2 => check::<CreateBucketConfiguration>(body),
        3 => check::<Tagging>(body),
        4 => check::<VersioningConfiguration>(body),
        5 => check::<BucketLifecycleConfiguration>(body),
        6 => check::<CORSConfiguration>(body),
        _ => check::<AccessControlPolicy>(body),
    }
});
