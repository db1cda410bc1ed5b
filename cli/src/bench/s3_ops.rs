//! The S3 operations the benchmark sends: objects (PUT, multipart, GET streamed and checked,
//! HEAD, DELETE), ListObjectsV2 pages and the bucket calls of set-up and clean-up.

use super::body::SliceBody;
use super::data::Data;
use super::s3::{read_body, S3Client, S3Error};
use super::xml;
use futures::{StreamExt, TryStreamExt};
use http::Method;
use http_body_util::BodyExt;

/// One ListObjectsV2 page.
#[derive(Debug)]
pub struct ListPage {
    pub keys: u64,
    /// The continuation token when the listing goes on.
    pub next: Option<String>,
}

/// How multipart uploads are cut.
#[derive(Clone, Copy, Debug)]
pub struct Multipart {
    /// Objects larger than this are uploaded in parts.
    pub threshold: u64,
    pub part_size: u64,
    /// Parts of one object in flight at once.
    pub concurrency: usize,
}

/// `(part number, offset, length)` of every part of an object of `size` bytes.
pub fn part_plan(size: u64, part_size: u64) -> Vec<(u32, u64, u64)> {
    let part_size = part_size.max(1);
    let mut out = Vec::new();
    let mut off = 0;
    let mut n = 1u32;
    while off < size {
        let len = part_size.min(size - off);
        out.push((n, off, len));
        off += len;
        n += 1;
    }
    out
}

impl S3Client {
    /// Writes object `i` (one PUT, or a multipart upload above the threshold).
    pub async fn put(
        &self,
        bucket: &str,
        data: &Data,
        i: u64,
        mp: &Multipart,
    ) -> Result<(), S3Error> {
        let key = data.key(i);
        if data.size() > mp.threshold {
            return self.put_multipart(bucket, &key, data, i, mp).await;
        }
        let body = SliceBody::new(data.slices(i, 0, data.size()));
        let resp = self
            .send(Method::PUT, &format!("/{bucket}/{key}"), &[], body)
            .await?;
        read_body(resp).await.map(drop)
    }

    async fn put_multipart(
        &self,
        bucket: &str,
        key: &str,
        data: &Data,
        i: u64,
        mp: &Multipart,
    ) -> Result<(), S3Error> {
        let path = format!("/{bucket}/{key}");
        let resp = self
            .send(Method::POST, &path, &[("uploads", "")], SliceBody::empty())
            .await?;
        let text = String::from_utf8_lossy(&read_body(resp).await?).into_owned();
        let upload_id = xml::tag(&text, "UploadId").ok_or_else(|| {
            S3Error::Invalid(format!("CreateMultipartUpload of {key}: no UploadId"))
        })?;
        let plan = part_plan(data.size(), mp.part_size);
        let uploaded = futures::stream::iter(plan.into_iter().map(|(n, off, len)| {
            let path = &path;
            let upload_id = &upload_id;
            async move {
                let number = n.to_string();
                let body = SliceBody::new(data.slices(i, off, len));
                let query = [("partNumber", number.as_str()), ("uploadId", upload_id)];
                let resp = self.send(Method::PUT, path, &query, body).await?;
                let etag = resp
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .ok_or_else(|| S3Error::Invalid(format!("part {n} of {key}: no ETag")))?;
                read_body(resp).await?;
                Ok::<_, S3Error>((n, etag))
            }
        }))
        .buffered(mp.concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await;
        let parts = match uploaded {
            Ok(p) => p,
            Err(e) => {
                let query = [("uploadId", upload_id.as_str())];
                // Best effort: the upload is abandoned either way.
                let _ = self
                    .send(Method::DELETE, &path, &query, SliceBody::empty())
                    .await;
                return Err(e);
            }
        };
        let mut xml_body = String::from("<CompleteMultipartUpload>");
        for (n, etag) in &parts {
            let etag = etag.replace('&', "&amp;").replace('"', "&quot;");
            xml_body.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        xml_body.push_str("</CompleteMultipartUpload>");
        let body = SliceBody::new(vec![bytes::Bytes::from(xml_body)]);
        let resp = self
            .send(Method::POST, &path, &[("uploadId", &upload_id)], body)
            .await?;
        // CompleteMultipartUpload may answer 200 with an error document.
        let text = String::from_utf8_lossy(&read_body(resp).await?).into_owned();
        if let Some(code) = xml::tag(&text, "Code") {
            let message = xml::tag(&text, "Message").unwrap_or_default();
            return Err(S3Error::Http {
                status: 200,
                code,
                message,
            });
        }
        Ok(())
    }

    /// Reads object `i` to the end without keeping it: checks its length, and every byte
    /// when `verify`. Returns the bytes received.
    pub async fn get(
        &self,
        bucket: &str,
        data: &Data,
        i: u64,
        verify: bool,
    ) -> Result<u64, S3Error> {
        let key = data.key(i);
        let resp = self
            .send(
                Method::GET,
                &format!("/{bucket}/{key}"),
                &[],
                SliceBody::empty(),
            )
            .await?;
        let mut body = resp.into_body();
        let mut got = 0u64;
        let want = data.size();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| S3Error::Transport(format!("GET {key}: {e}")))?;
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            if got + chunk.len() as u64 > want {
                return Err(S3Error::Invalid(format!(
                    "GET {key}: more than the {want} bytes written"
                )));
            }
            if verify && !data.matches(i, got, &chunk) {
                return Err(S3Error::Invalid(format!(
                    "GET {key}: wrong bytes in {got}..{}",
                    got + chunk.len() as u64
                )));
            }
            got += chunk.len() as u64;
        }
        if got != want {
            return Err(S3Error::Invalid(format!(
                "GET {key}: {got} bytes, {want} written"
            )));
        }
        Ok(got)
    }

    /// HEAD of object `i`; checks its Content-Length.
    pub async fn head(&self, bucket: &str, data: &Data, i: u64) -> Result<(), S3Error> {
        let key = data.key(i);
        let resp = self
            .send(
                Method::HEAD,
                &format!("/{bucket}/{key}"),
                &[],
                SliceBody::empty(),
            )
            .await?;
        let len = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if len != Some(data.size()) {
            return Err(S3Error::Invalid(format!(
                "HEAD {key}: Content-Length {len:?}, {} written",
                data.size()
            )));
        }
        Ok(())
    }

    /// DELETE of a key (a missing key is not an error, as in S3).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let resp = self
            .send(
                Method::DELETE,
                &format!("/{bucket}/{key}"),
                &[],
                SliceBody::empty(),
            )
            .await?;
        read_body(resp).await.map(drop)
    }

    /// One ListObjectsV2 page under `prefix`: the first of a listing (after `start_after`
    /// if given) or the one a continuation `token` names.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        max_keys: u64,
        token: Option<&str>,
        start_after: Option<&str>,
    ) -> Result<ListPage, S3Error> {
        let max = max_keys.to_string();
        let mut query = vec![
            ("list-type", "2"),
            ("max-keys", max.as_str()),
            ("prefix", prefix),
        ];
        match (token, start_after) {
            (Some(t), _) => query.push(("continuation-token", t)),
            (None, Some(s)) => query.push(("start-after", s)),
            (None, None) => {}
        }
        let resp = self
            .send(
                Method::GET,
                &format!("/{bucket}"),
                &query,
                SliceBody::empty(),
            )
            .await?;
        let text = String::from_utf8_lossy(&read_body(resp).await?).into_owned();
        if !text.contains("<ListBucketResult") {
            return Err(S3Error::Invalid(format!(
                "ListObjectsV2 of {bucket}: not a listing"
            )));
        }
        let truncated = xml::tag(&text, "IsTruncated").as_deref() == Some("true");
        let next = xml::tag(&text, "NextContinuationToken").filter(|_| truncated);
        if truncated && next.is_none() {
            return Err(S3Error::Invalid(format!(
                "ListObjectsV2 of {bucket}: truncated without a continuation token"
            )));
        }
        Ok(ListPage {
            keys: xml::count(&text, "Key"),
            next,
        })
    }

    /// Whether the bucket exists (HeadBucket: 404 means no).
    pub async fn bucket_exists(&self, bucket: &str) -> Result<bool, S3Error> {
        match self
            .send(Method::HEAD, &format!("/{bucket}"), &[], SliceBody::empty())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// CreateBucket; a bucket we already own is fine. Outside us-east-1 the region is
    /// sent as the location constraint, as S3 requires.
    pub async fn create_bucket(&self, bucket: &str, region: &str) -> Result<(), S3Error> {
        let body = if region.is_empty() || region == "us-east-1" {
            SliceBody::empty()
        } else {
            SliceBody::new(vec![bytes::Bytes::from(format!(
                "<CreateBucketConfiguration><LocationConstraint>{region}\
                 </LocationConstraint></CreateBucketConfiguration>"
            ))])
        };
        match self
            .send(Method::PUT, &format!("/{bucket}"), &[], body)
            .await
        {
            Ok(resp) => read_body(resp).await.map(drop),
            Err(S3Error::Http { code, .. }) if code == "BucketAlreadyOwnedByYou" => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let resp = self
            .send(
                Method::DELETE,
                &format!("/{bucket}"),
                &[],
                SliceBody::empty(),
            )
            .await?;
        read_body(resp).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_object_and_only_the_last_is_short() {
        let plan = part_plan(100 << 20, 16 << 20);
        assert_eq!(plan.len(), 7);
        assert_eq!(plan[0], (1, 0, 16 << 20));
        assert_eq!(plan[6], (7, 96 << 20, 4 << 20));
        assert_eq!(plan.iter().map(|p| p.2).sum::<u64>(), 100 << 20);
        assert!(plan[..6].iter().all(|p| p.2 == 16 << 20));
        assert_eq!(part_plan(32 << 20, 16 << 20).len(), 2);
        assert!(part_plan(0, 16 << 20).is_empty());
    }
}
