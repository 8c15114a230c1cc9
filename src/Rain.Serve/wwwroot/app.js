// rain serve's page: camera frames up the WebSocket as JPEG, animated frames back onto a canvas, and honest numbers.
// Protocol: README "In the browser". No framework, no build step, nothing loaded from outside this server.
'use strict';

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const CAMERA_FRAME = 0x01, REFERENCE_IMAGE = 0x02, ANIMATED_FRAME = 0x81;
const MAX_BUFFERED = 512 * 1024; // bytes waiting in the socket: past this the browser skips frames (counted as dropped)

const state = {
  ws: null, hello: null, streaming: false, starting: false,
  seq: 0, sent: 0, shown: 0, skipped: 0, serverDropped: 0,
  latencies: [],  // glass-to-glass of the last 120 frames, ms
  shownAt: [],    // performance.now() of frames drawn, last 5 s
  lastSend: 0, source: null, mediaStream: null,
  sliderValues: {}, slidersTouched: false, retargetTimer: 0, drawChain: Promise.resolve(),
};
window.rain = state; // for the curious (and the browser test)

function setStatus(text, cls) {
  const s = $('status');
  s.textContent = text;
  s.className = cls || '';
}

function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    ws.binaryType = 'arraybuffer';
    state.ws = ws;
    let greeted = false;
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        const m = JSON.parse(e.data);
        if (m.type === 'hello') { greeted = true; onHello(m); resolve(); return; }
        if (m.type === 'busy') { setStatus(m.message, 'busy'); reject(new Error(m.message)); return; }
        onControl(m);
      } else {
        onFrame(e.data);
      }
    };
    ws.onclose = (e) => {
      stopCapture();
      state.streaming = false;
      updateButtons();
      if (!greeted) reject(new Error('the server closed the connection'));
      if (e.code !== 1013) setStatus('disconnected' + (e.reason ? ': ' + e.reason : '') + ' — reload to reconnect', 'error');
      state.ws = null;
    };
    ws.onerror = () => { if (!greeted) reject(new Error('cannot reach the server')); };
  });
}

function onHello(m) {
  state.hello = m;
  for (const id of ['out', 'pose']) { $(id).width = m.width; $(id).height = m.height; }
  $('refname').textContent = 'configured (' + m.reference.name + ')';
  $('backend').textContent = 'engine: ' + m.backend + ' · ' + m.width + '×' + m.height + ', ' + m.frames_per_step +
    ' frames per step, first frame after ' + (m.startup_steps + 1) + ' steps';
  if (m.pose_note) { $('posenote').textContent = m.pose_note; $('posenote').hidden = false; }
  buildSliders(m.sliders);
  setStatus('connected — press Start');
}

function onControl(m) {
  switch (m.type) {
    case 'started':
      state.starting = false; state.streaming = true;
      setStatus('streaming (' + m.reference + ' reference)');
      updateButtons();
      break;
    case 'stopped':
      state.streaming = false; updateButtons(); setStatus('stopped');
      break;
    case 'stats':
      state.serverDropped = m.dropped;
      $('server').textContent = fmt(m.latency_ms.p50) + ' / ' + fmt(m.latency_ms.p95) + ' ms';
      break;
    case 'reference':
      $('ref-uploaded').disabled = false; $('ref-uploaded').checked = true;
      setStatus('uploaded a ' + m.width + '×' + m.height + ' character');
      break;
    case 'error':
      setStatus(m.message, 'error');
      if (m.fatal) { state.streaming = false; stopCapture(); updateButtons(); }
      if (state.starting) { state.starting = false; stopCapture(); updateButtons(); }
      break;
  }
}

function fmt(x) { return (x === undefined || x === null || !isFinite(x)) ? '–' : x.toFixed(0); }

// An animated frame: header (32 bytes), the frame's JPEG, the pose's PNG.
function onFrame(buffer) {
  const v = new DataView(buffer);
  if (v.getUint8(0) !== ANIMATED_FRAME) return;
  const capture = v.getFloat64(8, true);
  const frameBytes = v.getUint32(16, true), poseBytes = v.getUint32(20, true);
  const frame = new Blob([new Uint8Array(buffer, 32, frameBytes)], { type: 'image/jpeg' });
  const pose = poseBytes > 0 ? new Blob([new Uint8Array(buffer, 32 + frameBytes, poseBytes)], { type: 'image/png' }) : null;
  state.drawChain = state.drawChain.then(async () => {
    const [fi, pi] = await Promise.all([createImageBitmap(frame), pose ? createImageBitmap(pose) : null]);
    $('out').getContext('2d').drawImage(fi, 0, 0);
    if (pi) $('pose').getContext('2d').drawImage(pi, 0, 0);
    fi.close(); if (pi) pi.close();
    const now = performance.now();
    state.shown++;
    state.shownAt.push(now);
    if (isFinite(capture)) {
      state.latencies.push(now - capture);
      if (state.latencies.length > 120) state.latencies.shift();
    }
  }).catch((e) => setStatus('cannot draw a frame: ' + e.message, 'error'));
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

function updateNumbers() {
  const now = performance.now();
  while (state.shownAt.length && state.shownAt[0] < now - 5000) state.shownAt.shift();
  $('fps').textContent = (state.shownAt.length / 5).toFixed(1);
  const recent = state.latencies.slice(-100);
  $('g2g').textContent = recent.length ? fmt(percentile(recent, 0.5)) + ' / ' + fmt(percentile(recent, 0.95)) + ' ms' : '–';
  $('sent').textContent = state.sent;
  $('shown').textContent = state.shown;
  $('dropped').textContent = state.skipped + state.serverDropped;
  drawChart();
  if (state.ws && state.ws.readyState === WebSocket.OPEN && recent.length) {
    state.ws.send(JSON.stringify({ type: 'report', glass_to_glass_ms: { p50: percentile(recent, 0.5), p95: percentile(recent, 0.95) } }));
  }
}

function drawChart() {
  const c = $('chart'), g = c.getContext('2d'), w = c.width, h = c.height, values = state.latencies;
  g.clearRect(0, 0, w, h);
  if (!values.length) return;
  // Grid lines at a round step (50 ms … 5 s) under the highest latency shown.
  const highest = Math.max(100, ...values);
  const step = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000].find((s) => highest / s <= 4) || 10000;
  const top = Math.ceil((highest * 1.05) / step) * step;
  g.strokeStyle = '#2c3038'; g.fillStyle = '#9aa0a6'; g.font = '11px sans-serif';
  for (let ms = step; ms < top; ms += step) {
    const y = h - (ms / top) * h;
    g.beginPath(); g.moveTo(0, y); g.lineTo(w - 52, y); g.stroke();
    g.fillText(ms.toFixed(0) + ' ms', w - 48, y + 4);
  }
  g.strokeStyle = '#5fb3ff'; g.lineWidth = 2; g.beginPath();
  values.forEach((v, i) => {
    const x = (i / 119) * (w - 56), y = h - (v / top) * h;
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
}

function buildSliders(sliders) {
  const list = $('sliderlist');
  list.textContent = '';
  for (const s of sliders) {
    state.sliderValues[s.name] = s.start;
    const div = document.createElement('div');
    div.className = 'slider';
    const label = document.createElement('label');
    const name = document.createElement('span'); name.textContent = s.name.replaceAll('_', ' ');
    const value = document.createElement('span'); value.textContent = s.start.toFixed(2);
    label.append(name, value);
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', min: s.min, max: s.max, step: 0.01, value: s.start, id: 'slider-' + s.name });
    input.dataset.start = s.start;
    input.addEventListener('input', () => {
      state.sliderValues[s.name] = Number(input.value);
      state.slidersTouched = true;
      value.textContent = Number(input.value).toFixed(2);
      sendRetarget();
    });
    div.append(label, input);
    list.append(div);
  }
}

// RAIN's UI passes every slider on every change (param2translations); throttled to 10 messages a second.
function sendRetarget() {
  if (state.retargetTimer) return;
  state.retargetTimer = setTimeout(() => {
    state.retargetTimer = 0;
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: 'retarget', retarget: state.sliderValues }));
  }, 100);
}

async function openSource() {
  const video = $('video');
  if (document.querySelector('input[name=src]:checked').value === 'file') {
    const file = $('videofile').files[0];
    if (!file) throw new Error('choose a video file first');
    video.srcObject = null;
    video.src = URL.createObjectURL(file);
    video.loop = true;
  } else {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('no camera API here: browsers allow the webcam only on https:// or http://localhost');
    }
    state.mediaStream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    video.srcObject = state.mediaStream;
  }
  await video.play();
}

function stopCapture() {
  const video = $('video');
  video.pause();
  if (state.mediaStream) { for (const t of state.mediaStream.getTracks()) t.stop(); state.mediaStream = null; }
  video.srcObject = null;
}

// Each new video frame: grab it at the detection size (short side = what the server's centre crop needs), JPEG, send.
const grab = document.createElement('canvas');
function onVideoFrame(now, meta) {
  const video = $('video');
  if (!state.streaming) return;
  const t = (meta && meta.captureTime) || performance.now();
  const maxFps = Math.max(1, Number($('maxfps').value) || 15);
  if (performance.now() - state.lastSend >= 1000 / maxFps - 2 && video.videoWidth > 0) {
    if (state.ws.bufferedAmount > MAX_BUFFERED) {
      state.skipped++;
    } else {
      state.lastSend = performance.now();
      sendFrame(video, t);
    }
  }
  schedule();
}

function schedule() {
  const video = $('video');
  if (!state.streaming) return;
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onVideoFrame);
  else setTimeout(() => onVideoFrame(performance.now(), null), 1000 / 30);
}

function sendFrame(video, captureTime) {
  const short = state.hello.frame_short_side;
  const scale = Math.min(1, short / Math.min(video.videoWidth, video.videoHeight));
  grab.width = Math.max(1, Math.round(video.videoWidth * scale));
  grab.height = Math.max(1, Math.round(video.videoHeight * scale));
  grab.getContext('2d').drawImage(video, 0, 0, grab.width, grab.height);
  const seq = state.seq++;
  grab.toBlob(async (blob) => {
    if (!blob || !state.ws || state.ws.readyState !== WebSocket.OPEN || !state.streaming) return;
    const jpeg = new Uint8Array(await blob.arrayBuffer());
    const message = new Uint8Array(16 + jpeg.length);
    const v = new DataView(message.buffer);
    v.setUint8(0, CAMERA_FRAME);
    v.setUint32(4, seq >>> 0, true);
    v.setFloat64(8, captureTime, true);
    message.set(jpeg, 16);
    state.ws.send(message);
    state.sent++;
  }, 'image/jpeg', 0.85);
}

async function start() {
  try {
    if (!state.ws) await connect();
    state.starting = true;
    updateButtons();
    setStatus('opening the camera…');
    await openSource();
    setStatus('starting: fusing the reference…');
    const reference = document.querySelector('input[name=ref]:checked').value;
    // Until a slider is touched the server keeps RAIN's live list (which differs slightly from the sliders' starting values).
    const message = { type: 'start', reference };
    if (state.slidersTouched) message.retarget = state.sliderValues;
    state.ws.send(JSON.stringify(message));
    await new Promise((resolve, reject) => {
      const check = setInterval(() => {
        if (state.streaming) { clearInterval(check); resolve(); }
        if (!state.starting) { clearInterval(check); reject(new Error($('status').textContent)); }
      }, 50);
    });
    schedule();
  } catch (e) {
    state.starting = false;
    stopCapture();
    updateButtons();
    if ($('status').className !== 'busy') setStatus('cannot start: ' + e.message, 'error');
  }
}

function stop() {
  state.streaming = false;
  stopCapture();
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: 'stop' }));
  updateButtons();
}

function updateButtons() {
  $('start').disabled = state.streaming || state.starting;
  $('stop').disabled = !state.streaming;
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
$('reset').addEventListener('click', () => {
  for (const input of document.querySelectorAll('#sliderlist input')) {
    input.value = input.dataset.start;
    input.dispatchEvent(new Event('input'));
  }
});
for (const r of document.querySelectorAll('input[name=src]')) {
  r.addEventListener('change', () => { $('filepick').hidden = r.value !== 'file' || !r.checked; });
}
$('upload').addEventListener('change', async () => {
  const file = $('upload').files[0];
  if (!file) return;
  try {
    if (!state.ws) await connect();
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (bytes.length > state.hello.max_upload_bytes) { setStatus('that image is over the server\'s upload limit (' + state.hello.max_upload_bytes + ' bytes)', 'error'); return; }
    $('reference').src = URL.createObjectURL(file);
    const message = new Uint8Array(16 + bytes.length);
    message[0] = REFERENCE_IMAGE;
    message.set(bytes, 16);
    state.ws.send(message);
  } catch (e) { setStatus('cannot upload: ' + e.message, 'error'); }
});

setInterval(updateNumbers, 500);
connect().then(() => { if (query.get('autostart') === '1') start(); }).catch((e) => setStatus(e.message, $('status').className || 'error'));
