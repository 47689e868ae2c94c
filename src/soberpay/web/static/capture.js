/* Liveness clip capture for the room tablet (issue 11).
 *
 * SoberpayCapture.captureClip(video, seconds, challenge) -> Promise<Blob[]>
 *   grabs JPEG frames (at most 640 px wide, ~12 per second) from a playing <video> for `seconds`;
 *   `challenge` ({challenge_id, actions}) is only used to time the capture: the caller shows the prompt.
 * SoberpayCapture.prompt(actions, t) -> string: the actions in order, in the page's language when the
 *   catalogue has "liveness.<action>" (English otherwise).
 * Frames stay in memory (Blobs) and go straight into the request; nothing is stored.
 */
(function () {
  "use strict";
  var FPS = 12, MAX_WIDTH = 640;
  var EN = { blink: "blink", turn_left: "turn your head to your left", turn_right: "turn your head to your right",
             smile: "smile" };

  function frame(video, canvas) {
    return new Promise(function (resolve) {
      var scale = Math.min(1, MAX_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (b) { resolve(b); }, "image/jpeg", 0.85);
    });
  }

  function captureClip(video, seconds, challenge) {
    if (!video || !video.videoWidth) return Promise.resolve([]);
    var n = Math.max(2, Math.round(seconds * FPS));
    var canvas = document.createElement("canvas");
    var blobs = [];
    return new Promise(function (resolve) {
      var i = 0;
      var timer = setInterval(function () {
        frame(video, canvas).then(function (b) { if (b) blobs.push(b); });
        if (++i >= n) { clearInterval(timer); setTimeout(function () { resolve(blobs); }, 150); }
      }, 1000 / FPS);
    });
  }

  function prompt(actions, t) {
    return actions.map(function (a) {
      var key = "liveness." + a, said = t ? t(key) : key;
      return said && said !== key ? said : EN[a] || a;
    }).join(" → ");
  }

  window.SoberpayCapture = { captureClip: captureClip, prompt: prompt };
})();
