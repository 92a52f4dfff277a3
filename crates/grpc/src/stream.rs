//! Streaming helpers shared by the handlers: feeding a client stream into an upload, and turning a
//! download into a server stream.

use std::pin::Pin;

use tokio_stream::{Stream, StreamExt};
use tonic::{Status, Streaming};

use super::status::to_status;
use registratur_service::{BlobDownload, ServiceError, Upload};

/// A boxed server stream, as the generated service traits expect.
pub(crate) type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// A client-stream message that carries part of an upload.
pub(crate) trait UploadMessage {
    /// The bytes and whether this is the final message.
    fn into_chunk(self) -> (Vec<u8>, bool);
}

/// Feeds the first message's chunk and every following one into `upload`, up to the message marked
/// `last`, then commits. A stream that ends early, or sends more after `last`, stores nothing.
pub(crate) async fn feed_upload<M: UploadMessage, T>(
    first: M,
    messages: &mut Streaming<M>,
    mut upload: Upload<T>,
) -> Result<T, Status> {
    let (chunk, mut last) = first.into_chunk();
    upload.write(chunk).await.map_err(to_status)?;
    while !last {
        // Dropping `upload` on any early return aborts it.
        let message = messages.message().await?.ok_or_else(|| to_status(ServiceError::UploadAborted))?;
        let (chunk, is_last) = message.into_chunk();
        last = is_last;
        upload.write(chunk).await.map_err(to_status)?;
    }
    if messages.message().await?.is_some() {
        return Err(to_status(ServiceError::MessageAfterLast));
    }
    upload.finish().await.map_err(to_status)
}

/// Streams a download as messages built by `message(header, chunk)`, where `header` is `Some` only in
/// the first message (which is sent even for an empty blob).
pub(crate) fn download_stream<H: Send + 'static, T: Send + 'static>(
    download: BlobDownload,
    header: H,
    message: impl Fn(Option<H>, Vec<u8>) -> T + Send + 'static,
) -> ResponseStream<T> {
    let mut header = Some(header);
    if download.digest.size == 0 {
        let first = message(header.take(), Vec::new());
        return Box::pin(tokio_stream::once(Ok(first)));
    }
    let chunks = tokio_stream::wrappers::ReceiverStream::new(download.chunks);
    Box::pin(chunks.map(move |chunk| chunk.map(|chunk| message(header.take(), chunk)).map_err(to_status)))
}
