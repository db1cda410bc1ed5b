//! Recorded multipart uploads: CreateMultipartUpload, the parts in order, then
//! CompleteMultipartUpload, recorded as one put (`multipart: true`) of the whole body.
//!
//! Outcome: the object can only appear through the Complete request, so any failure before
//! it is sent is Fail (the upload is aborted, best effort); the Complete request itself is
//! classified like any request (4xx Fail; timeout, reset, 5xx or a 200 carrying an error
//! document Unknown).

use super::client::{classify, timed, Clients, OP_TIMEOUT};
use crate::bench::body::SliceBody;
use crate::bench::s3::{read_body, S3Client, S3Error};
use crate::bench::s3_ops::part_plan;
use crate::bench::xml;
use bytes::Bytes;
use http::Method;
use trireme_api::multipart::MIN_PART_SIZE;
use trireme_torture::Outcome;

/// Why an upload stopped: before Complete was sent (nothing can appear) or at Complete.
enum Stop {
    Before(S3Error),
    AtComplete(S3Error),
}

impl Clients {
    /// A multipart upload of a new unique value of `size` bytes in parts of the minimum size.
    pub async fn put_multipart(&self, process: u64, key: &str, size: usize) -> Outcome {
        let (op, body, path) = self.begin_put(process, key, size, true);
        let outcome = match upload(self.gw(process), &path, &body).await {
            Ok(()) => Outcome::written(),
            Err(Stop::Before(e)) => Outcome::fail(format!("before CompleteMultipartUpload: {e}")),
            Err(Stop::AtComplete(e)) => classify(&e),
        };
        self.done(op, outcome.clone());
        outcome
    }
}

async fn upload(gw: &S3Client, path: &str, body: &Bytes) -> Result<(), Stop> {
    let resp = timed(gw.send(Method::POST, path, &[("uploads", "")], SliceBody::empty()))
        .await
        .map_err(Stop::Before)?;
    let text = timed(read_body(resp)).await.map_err(Stop::Before)?;
    let text = String::from_utf8_lossy(&text).into_owned();
    let upload_id = xml::tag(&text, "UploadId")
        .ok_or_else(|| Stop::Before(S3Error::Invalid("no UploadId".into())))?;
    let mut parts = Vec::new();
    for (n, off, len) in part_plan(body.len() as u64, MIN_PART_SIZE) {
        let number = n.to_string();
        let query = [
            ("partNumber", number.as_str()),
            ("uploadId", upload_id.as_str()),
        ];
        let slice = body.slice(off as usize..(off + len) as usize);
        let sent = timed(async {
            let resp = gw
                .send(Method::PUT, path, &query, SliceBody::new(vec![slice]))
                .await?;
            let etag = resp
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| S3Error::Invalid(format!("part {n}: no ETag")))?;
            read_body(resp).await?;
            Ok(etag)
        })
        .await;
        match sent {
            Ok(etag) => parts.push((n, etag)),
            Err(e) => {
                let query = [("uploadId", upload_id.as_str())];
                // Best effort: without Complete the upload never becomes an object anyway.
                let _ = tokio::time::timeout(
                    OP_TIMEOUT,
                    gw.send(Method::DELETE, path, &query, SliceBody::empty()),
                )
                .await;
                return Err(Stop::Before(e));
            }
        }
    }
    let mut doc = String::from("<CompleteMultipartUpload>");
    for (n, etag) in &parts {
        let etag = etag.replace('&', "&amp;").replace('"', "&quot;");
        doc.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    doc.push_str("</CompleteMultipartUpload>");
    let query = [("uploadId", upload_id.as_str())];
    let done = timed(async {
        let resp = gw
            .send(
                Method::POST,
                path,
                &query,
                SliceBody::new(vec![Bytes::from(doc)]),
            )
            .await?;
        let text = String::from_utf8_lossy(&read_body(resp).await?).into_owned();
        // CompleteMultipartUpload may answer 200 with an error document: it may still commit.
        match xml::tag(&text, "Code") {
            Some(code) => Err(S3Error::Http {
                status: 500,
                code,
                message: xml::tag(&text, "Message").unwrap_or_default(),
            }),
            None => Ok(()),
        }
    })
    .await;
    done.map_err(Stop::AtComplete)
}
