#pragma once
// HLS out of memory and recordings off disk, over HTTP. Control thread.
//
//   GET /hls/{room}/master.m3u8                  master playlist (short max-age)
//   GET /hls/{room}/{rendition}/index.m3u8       media playlist (short max-age)
//   GET /hls/{room}/{rendition}/{epoch-seq}.ts   segment from memory (immutable)
//   GET /hls/{room}/ll.m3u8                      low-latency master playlist
//   GET /hls/{room}/ll/index.m3u8?_HLS_msn=M&_HLS_part=P[&_HLS_skip=YES]
//                                                blocking reload (held until part P
//                                                of segment M exists; delta update)
//   GET /hls/{room}/ll/{epoch}-pN.m4s, -SEQ.m4s, -init-V.mp4   parts, segments,
//                                                initialization segments (fMP4)
// Each answer is prepared once per version (HlsResponses), with an ETag
// (If-None-Match: 304); the plain-HTTP front serves the same answers off the
// control loop.
//   GET /api/v1/rooms/{id}/recordings            the room's MP4 pieces and job timeline
//   GET /recordings/{room}/{file}                an MP4 piece, with byte ranges (Safari),
//                                                streamed from disk in bounded chunks

#include <string>

#include "core/jwt.h"
#include "core/loop.h"
#include "core/redis.h"
#include "media/media_service.h"
#include "signaling/hls_responses.h"
#include "signaling/http.h"

namespace jobcast {

// Registers the routes and keeps the prepared answers up to date with the
// media service's HLS output; returns them for the HTTP front.
// Low-latency HLS (/hls/{room}/ll.m3u8 and the "ll" rendition) answers
// blocking playlist reloads and preload-hinted parts on `loop`'s timers.
std::shared_ptr<const http::HlsResponses> registerHls(http::Router& router, Loop& loop,
                                                      media::MediaService& media);
// Replays need a token whose rooms claim names the room, unless public_replay.
// The list answers each piece's URL with a short-lived ?access= link.
// Replay links are signed with `links_secret` (every node derives the same
// one, so a link listed by one node works on another); empty: a random key.
void registerRecordings(http::Router& router, media::MediaService& media, const Jwt& jwt,
                        bool public_replay, const std::string& links_secret = "");

// "PIECE.vtt" for "PIECE.mp4": a recorded piece's captions file.
std::string captionFileOf(const std::string& piece_file);

// Keeps <recordings>/ROOM/timeline.json: each closed MP4 piece and the jobs
// pinned while it was recorded (job.pinned events read from the room's event
// stream), so a replay can jump to each job.
class RecordingTimeline {
 public:
  RecordingTimeline(RedisClient& redis, media::MediaService& media);

 private:
  void onPiece(const std::string& room, const media::RecordingPiece& piece);
  // PIECE.vtt beside PIECE.mp4: the room's captions timed from the piece's start.
  void writeCaptions(const std::string& room, const media::RecordingPiece& piece);
  RedisClient& redis_;
  media::MediaService& media_;
};

// Parses "bytes=A-B", "bytes=A-" or "bytes=-N" against a size. False when the
// header is not one range we can serve.
bool parseByteRange(const std::string& header, uint64_t size, uint64_t& first, uint64_t& last);

}  // namespace jobcast
