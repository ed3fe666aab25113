/*
 * appwarden recording agent (Frida, Android/Java).
 *
 * Writes an appwarden runtime trace (format "appwarden-runtime-trace", see
 * appwarden/evidence/trace.py): a header line, then one JSON event per line, to a file
 * inside the app's data folder and, line by line, to the Frida host with send().
 *
 * This file holds NO list of APIs: `appwarden agent build` prepends
 *     const APPWARDEN = {hooks, uris, settings, format, version, agent_version};
 * derived from data/regs/apis.yaml, the one source of truth. Settings may also be
 * given at load time with `frida ... -P '{"agree_ids": ["btn_agree"]}'`
 * (delivered to rpc.exports.init).
 *
 * Consent moment: a click on a view whose resource-id entry name is listed in
 * settings.consent.{agree,disagree,withdraw}_ids, or a marker the tester sends:
 * script.post({type: "consent", kind: "agree"}) from the host (the recorder maps
 * key presses to it), or rpc.exports.markConsent("agree").
 */
'use strict';

/* global APPWARDEN, Java, File, send, recv, rpc */

const CONFIG = (typeof APPWARDEN !== 'undefined') ? APPWARDEN : { hooks: [], uris: [], settings: {} };
const SETTINGS = Object.assign(
  {
    package: null,
    output_path: null,
    consent: { agree_ids: [], disagree_ids: [], withdraw_ids: [], dialog_ids: [] },
    device: 'unknown',
    splash_activities: [],
    max_events_per_api_per_second: 50,
    stack_depth: 32,
  },
  CONFIG.settings || {}
);

const CLOSE_CONTROL = /(^|[_.\s-])(close|closed|skip|cancel|dismiss|btn_close|iv_close)([_.\s-]|$)|关闭|跳过|取消|^[x×✕✖]$/i;
const COUNTDOWN = /(\d{1,3})\s*(s|秒)|跳过\s*(\d{1,3})|(\d{1,3})\s*跳过/i;
const PUSH_COMPONENT = /push|jpush|getui|igexin|mipush|hms|agoo|vivo\.push|heytap|mcs/i;
const MAX_VIEWS = 2000;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_TAINT_VALUES = 500;

const state = {
  epochMs: null,
  file: null,
  headerWritten: false,
  startRecorded: false,
  resumed: 0,
  backgroundTimer: null,
  rate: new Map(),
  taint: new Map(), // value seen returned by a PI API -> its pi_types
  pendingPermissions: [],
  watchedUris: [], // {uri, prefix, pi_types}
  pendingHooks: [],
  installed: new Set(),
};

// -- writing -------------------------------------------------------------------------------

function packageName() {
  if (SETTINGS.package) return SETTINGS.package;
  try {
    const name = Java.use('android.app.ActivityThread').currentPackageName();
    if (name) return String(name);
  } catch (e) { /* not attached yet */ }
  return null;
}

function outputPath(pkg) {
  return SETTINGS.output_path || ('/data/data/' + pkg + '/files/appwarden-trace.jsonl');
}

function readExistingHeader(path) {
  // An existing trace is continued, keeping its clock, so a re-launch (48-hour rule) stays in one file.
  try {
    const JFile = Java.use('java.io.File');
    const f = JFile.$new(path);
    if (!f.exists() || f.length() === 0) return null;
    const reader = Java.use('java.io.BufferedReader').$new(Java.use('java.io.FileReader').$new(path));
    const first = reader.readLine();
    reader.close();
    return first ? JSON.parse(String(first)) : null;
  } catch (e) {
    return null;
  }
}

function versionCode(pkg) {
  try {
    const app = Java.use('android.app.ActivityThread').currentApplication();
    if (app === null) return null;
    const info = app.getPackageManager().getPackageInfo(pkg, 0);
    return Number(info.versionCode.value);
  } catch (e) {
    return null;
  }
}

function ensureHeader() {
  if (state.headerWritten) return true;
  const pkg = packageName();
  if (pkg === null) return false;
  const path = outputPath(pkg);
  const existing = readExistingHeader(path);
  if (existing !== null && existing.type === 'header' && existing.package === pkg) {
    state.epochMs = Date.parse(existing.recorded_at);
  } else {
    state.epochMs = state.epochMs || Date.now();
    const header = {
      type: 'header',
      format: CONFIG.format || 'appwarden-runtime-trace',
      version: CONFIG.version || 1,
      package: pkg,
      version_code: versionCode(pkg),
      device: SETTINGS.device,
      android_api: Number(Java.use('android.os.Build$VERSION').SDK_INT.value),
      recorded_at: new Date(state.epochMs).toISOString(),
      agent_version: CONFIG.agent_version || 'dev',
      consent_marker: describeConsentMarker(),
    };
    if (header.version_code === null) delete header.version_code;
    writeLine(path, JSON.stringify(header), true);
  }
  state.file = path;
  state.headerWritten = true;
  return true;
}

function describeConsentMarker() {
  const ids = SETTINGS.consent.agree_ids || [];
  return ids.length ? 'click:' + ids.join('|') : 'key/rpc';
}

function writeLine(path, line, truncate) {
  send({ appwarden_trace_line: line });
  try {
    const f = new File(path, truncate ? 'w' : 'a');
    f.write(line + '\n');
    f.flush();
    f.close();
  } catch (e) {
    // The host still receives every line through send(); the file is a convenience.
  }
}

const pending = [];

function emit(event) {
  const at = Date.now();
  if (!ensureHeader()) {
    // Before the package is known (very early in a spawn), keep events in order and write them later.
    if (pending.length < 10000) pending.push({ at: at, event: event });
    return;
  }
  while (pending.length) {
    const early = pending.shift();
    writeLine(state.file, JSON.stringify(withTime(early.event, early.at)), false);
  }
  writeLine(state.file, JSON.stringify(withTime(event, at)), false);
}

function withTime(event, at) {
  // t_ms goes first so a person reading the file sees the time of each line at once.
  return Object.assign({ type: event.type, t_ms: Math.max(0, at - state.epochMs) }, event);
}

function allowed(key) {
  // Flood control: past this rate an API is far above any frequency policy already.
  const second = Math.floor(Date.now() / 1000);
  const entry = state.rate.get(key);
  if (!entry || entry.second !== second) {
    state.rate.set(key, { second: second, count: 1 });
    return true;
  }
  entry.count += 1;
  return entry.count <= SETTINGS.max_events_per_api_per_second;
}

// -- stacks and values ---------------------------------------------------------------------

function stack() {
  const frames = [];
  try {
    const elements = Java.use('java.lang.Exception').$new().getStackTrace();
    for (let i = 0; i < elements.length && frames.length < SETTINGS.stack_depth; i++) {
      const el = elements[i];
      const frame = { class: String(el.getClassName()), method: String(el.getMethodName()) };
      const file = el.getFileName();
      if (file !== null) frame.file = String(file);
      const line = el.getLineNumber();
      if (line >= 0) frame.line = line; // -1 unknown, -2 native: left out
      frames.push(frame);
    }
  } catch (e) { /* a stack is best effort */ }
  return frames;
}

function threadName() {
  try {
    return String(Java.use('java.lang.Thread').currentThread().getName());
  } catch (e) {
    return '';
  }
}

function remember(value, piTypes) {
  if (!piTypes.length || value === null || value === undefined) return;
  let text = null;
  if (typeof value === 'string') {
    text = value;
  } else if (value && value.$className === 'java.lang.String') {
    text = String(value);
  } else if (value && typeof value.length === 'number' && value.length === 6) {
    // A MAC address as byte[6]: remember its usual text form.
    const parts = [];
    for (let i = 0; i < 6; i++) parts.push(((value[i] & 0xff) + 0x100).toString(16).slice(1));
    text = parts.join(':');
  }
  if (text === null || text.length < 6 || state.taint.size >= MAX_TAINT_VALUES) return;
  state.taint.set(text, piTypes);
}

function taintIn(text) {
  const found = new Set();
  if (!text) return [];
  const lower = text.toLowerCase();
  state.taint.forEach(function (piTypes, value) {
    if (text.indexOf(value) >= 0 || lower.indexOf(value.toLowerCase()) >= 0) {
      piTypes.forEach(function (p) { found.add(p); });
    }
  });
  return Array.from(found).sort();
}

function stringArguments(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'string') out.push(a);
    else if (a && a.$className === 'java.lang.String') out.push(String(a));
    else if (a && typeof a.length === 'number' && typeof a !== 'function') {
      for (let j = 0; j < a.length && j < 16; j++) if (typeof a[j] === 'string') out.push(a[j]);
    }
  }
  return out;
}

function uriPiTypes(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a || a.$className === undefined) continue;
    let text;
    try { text = String(a.toString()); } catch (e) { continue; }
    for (const w of state.watchedUris) {
      if ((w.uri && (text === w.uri || text.indexOf(w.uri + '/') === 0)) || (w.prefix && text.indexOf(w.prefix) === 0)) {
        return w.pi_types;
      }
    }
  }
  return [];
}

function isForeground() {
  return state.resumed > 0;
}

// -- API hooks (from the YAML-derived list) ------------------------------------------------

function onApiCall(hook, self, args, ret) {
  let piTypes = hook.pi_types;
  if (hook.string_argument.length) {
    const strings = stringArguments(args);
    const hit = hook.string_argument.some(function (s) {
      return strings.some(function (a) { return a.indexOf(s) >= 0; });
    });
    if (!hit) return;
  }
  if (hook.uri_argument) {
    piTypes = uriPiTypes(args);
    if (!piTypes.length) return;
  }
  if (!allowed(hook.descriptor)) return;
  remember(ret, piTypes);
  if (hook.event === 'clipboard_read') {
    emit({ type: 'clipboard_read', api: hook.descriptor, stack: stack(), thread: threadName(), foreground: isForeground() });
  } else if (hook.event === 'sensor') {
    let sensorType = -1;
    let period = null;
    try {
      sensorType = Number(args[1].getType());
      period = Number(args[2]);
      // 0-3 are SENSOR_DELAY_* constants, larger values microseconds (apis.yaml sensor_delay_constants).
      period = [0, 20000, 66667, 200000][period] !== undefined ? [0, 20000, 66667, 200000][period] : period;
    } catch (e) { /* unknown sensor */ }
    const event = { type: 'sensor', sensor_type: sensorType, stack: stack(), thread: threadName() };
    if (period !== null && !isNaN(period)) event.sampling_period_us = period;
    emit(event);
  } else {
    emit({ type: 'api_call', api: hook.descriptor, pi_types: piTypes, stack: stack(), thread: threadName() });
  }
}

function wrap(hook, overload) {
  overload.implementation = function () {
    const ret = overload.apply(this, arguments);
    try {
      onApiCall(hook, this, arguments, ret);
    } catch (e) { /* recording must never break the app */ }
    return ret;
  };
}

//: Abstract framework classes whose calls land in a hidden implementation class.
const IMPLEMENTATIONS = {
  'android.content.pm.PackageManager': 'android.app.ApplicationPackageManager',
  'android.content.Context': 'android.app.ContextImpl',
};

function installHook(hook) {
  const key = hook.descriptor;
  if (state.installed.has(key)) return true;
  const classes = [hook.class_name || hook['class']];
  if (IMPLEMENTATIONS[classes[0]]) classes.push(IMPLEMENTATIONS[classes[0]]);
  let done = false;
  for (const name of classes) {
    let cls;
    try { cls = Java.use(name); } catch (e) { continue; } // not loaded (yet): retried when the app's loader is known
    try {
      if (hook.method === '*') {
        const methods = cls.class.getDeclaredMethods();
        const names = new Set();
        for (let i = 0; i < methods.length; i++) names.add(String(methods[i].getName()));
        names.forEach(function (m) {
          if (cls[m] && cls[m].overloads) cls[m].overloads.forEach(function (ov) { wrap(hook, ov); });
        });
        done = true;
      } else if (cls[hook.method]) {
        const method = cls[hook.method];
        if (hook.params === null) method.overloads.forEach(function (ov) { wrap(hook, ov); });
        else wrap(hook, method.overload.apply(method, hook.params));
        done = true;
      }
    } catch (e) { /* overload absent on this Android version */ }
  }
  if (done) state.installed.add(key);
  return done;
}

function installApiHooks() {
  state.pendingHooks = CONFIG.hooks.filter(function (hook) { return !installHook(hook); });
}

function resolveUris() {
  state.watchedUris = [];
  CONFIG.uris.forEach(function (u) {
    if (u.prefix) {
      state.watchedUris.push({ uri: null, prefix: u.prefix, pi_types: u.pi_types });
      return;
    }
    try {
      const value = Java.use(u.field_class)[u.field].value;
      state.watchedUris.push({ uri: String(value.toString()), prefix: null, pi_types: u.pi_types });
    } catch (e) { /* provider class absent on this Android version */ }
  });
}

// -- consent, permissions, lifecycle, start ------------------------------------------------

function markConsent(kind, marker, resourceId) {
  if (['agree', 'disagree', 'withdraw', 'dialog_shown'].indexOf(kind) < 0) return false;
  const event = { type: 'consent', kind: kind };
  if (marker) event.marker = marker;
  if (resourceId) event.resource_id = resourceId;
  emit(event);
  return true;
}

function listenForHostMarkers() {
  recv('consent', function (message) {
    markConsent(String(message.kind), 'key', null);
    listenForHostMarkers(); // recv() handles one message: re-arm
  });
}

function entryName(view) {
  try {
    const id = view.getId();
    if (id === -1) return null;
    return String(view.getResources().getResourceEntryName(id));
  } catch (e) {
    return null;
  }
}

function hookClicks() {
  const View = Java.use('android.view.View');
  View.performClick.overload().implementation = function () {
    const name = entryName(this);
    if (name !== null) {
      const c = SETTINGS.consent;
      if (c.agree_ids.indexOf(name) >= 0) markConsent('agree', 'click', name);
      else if (c.disagree_ids.indexOf(name) >= 0) markConsent('disagree', 'click', name);
      else if (c.withdraw_ids.indexOf(name) >= 0) markConsent('withdraw', 'click', name);
    }
    checkCloseClick(this); // close buttons often have no resource id
    return this.performClick();
  };
}

function hookPermissions() {
  const Activity = Java.use('android.app.Activity');
  Activity.requestPermissions.overload('[Ljava.lang.String;', 'int').implementation = function (names, code) {
    const asked = [];
    for (let i = 0; i < names.length; i++) {
      // Already granted: Android answers without showing a dialog, so it is not a prompt.
      if (this.checkSelfPermission(names[i]) !== 0) asked.push(String(names[i]));
    }
    state.pendingPermissions = asked;
    state.pendingStack = stack();
    return this.requestPermissions(names, code);
  };
  Activity.dispatchRequestPermissionsResult.implementation = function (code, data) {
    try {
      const names = data === null ? null : data.getStringArrayExtra('android.content.pm.extra.REQUEST_PERMISSIONS_NAMES');
      const results = data === null ? null : data.getIntArrayExtra('android.content.pm.extra.REQUEST_PERMISSIONS_RESULTS');
      const asked = state.pendingPermissions;
      if (names === null || names.length === 0) {
        asked.forEach(function (p) { emit({ type: 'permission_prompt', permission: p, result: 'dismissed', stack: state.pendingStack || [] }); });
      } else {
        for (let i = 0; i < names.length; i++) {
          const p = String(names[i]);
          if (asked.indexOf(p) < 0) continue;
          emit({ type: 'permission_prompt', permission: p, result: results[i] === 0 ? 'granted' : 'denied', stack: state.pendingStack || [] });
        }
      }
      state.pendingPermissions = [];
    } catch (e) { /* hidden API differs: no prompt recorded */ }
    return this.dispatchRequestPermissionsResult(code, data);
  };
}

function recordStart(cause, extra) {
  if (state.startRecorded) return;
  state.startRecorded = true;
  emit(Object.assign({ type: 'app_start', cause: cause }, extra));
}

function hookStarts() {
  const ActivityThread = Java.use('android.app.ActivityThread');
  try {
    ActivityThread.handleReceiver.overloads.forEach(function (ov) {
      ov.implementation = function (data) {
        try {
          const intent = data.intent.value;
          const action = intent === null ? null : String(intent.getAction());
          const cause = action === 'android.intent.action.BOOT_COMPLETED' || action === 'android.intent.action.LOCKED_BOOT_COMPLETED' ? 'boot' : 'broadcast';
          recordStart(cause, { component: String(data.info.value.name.value), action: action });
        } catch (e) { recordStart('broadcast', {}); }
        return ov.apply(this, arguments);
      };
    });
  } catch (e) { /* hidden API absent */ }
  try {
    ActivityThread.handleCreateService.overloads.forEach(function (ov) {
      ov.implementation = function (data) {
        try {
          const name = String(data.info.value.name.value);
          recordStart(PUSH_COMPONENT.test(name) ? 'push' : 'other_app', { component: name });
        } catch (e) { recordStart('other_app', {}); }
        return ov.apply(this, arguments);
      };
    });
  } catch (e) { /* hidden API absent */ }
}

function hookActivities() {
  const Activity = Java.use('android.app.Activity');
  Activity.onCreate.overload('android.os.Bundle').implementation = function (saved) {
    try {
      const intent = this.getIntent();
      const launcher = intent !== null && intent.hasCategory('android.intent.category.LAUNCHER');
      const extra = { component: String(this.getClass().getName()) };
      if (!launcher) {
        const referrer = this.getReferrer();
        if (referrer !== null) extra.caller_package = String(referrer.getHost());
      }
      recordStart(launcher ? 'user' : 'other_app', extra);
    } catch (e) { recordStart('user', {}); }
    return this.onCreate(saved);
  };
  Activity.onResume.implementation = function () {
    const ret = this.onResume();
    state.resumed += 1;
    if (state.resumed === 1) {
      if (state.backgroundTimer !== null) {
        clearTimeout(state.backgroundTimer);
        state.backgroundTimer = null;
      } else {
        emit({ type: 'lifecycle', state: 'foreground' });
      }
    }
    const activity = this;
    const name = String(this.getClass().getName());
    if (SETTINGS.splash_activities.indexOf(name) >= 0 || /splash|welcome|launch|advert/i.test(name)) {
      setTimeout(function () { Java.perform(function () { inspectActivity(activity, name); }); }, 800);
    }
    return ret;
  };
  Activity.onPause.implementation = function () {
    const ret = this.onPause();
    state.resumed = Math.max(0, state.resumed - 1);
    if (state.resumed === 0) {
      // Moving between two activities pauses one before resuming the next: wait before saying background.
      state.backgroundTimer = setTimeout(function () {
        state.backgroundTimer = null;
        if (state.resumed === 0) emit({ type: 'lifecycle', state: 'background' });
      }, 700);
    }
    return ret;
  };
}

// -- windows -------------------------------------------------------------------------------

const closeControls = new Map(); // view identity -> {isShowing(), event}

function walk(root, visit) {
  const ViewGroup = Java.use('android.view.ViewGroup');
  const queue = [root];
  let seen = 0;
  while (queue.length && seen < MAX_VIEWS) {
    const view = queue.shift();
    seen += 1;
    visit(view);
    if (ViewGroup.class.isInstance(view)) {
      const group = Java.cast(view, ViewGroup);
      for (let i = 0; i < group.getChildCount(); i++) queue.push(group.getChildAt(i));
    }
  }
}

function describeWindow(root) {
  const TextView = Java.use('android.widget.TextView');
  const density = Number(root.getResources().getDisplayMetrics().density.value) || 1;
  const found = { close: null, closeSize: null, countdown: null, consentDialog: false };
  walk(root, function (view) {
    const name = entryName(view) || '';
    if (SETTINGS.consent.dialog_ids.indexOf(name) >= 0) found.consentDialog = true;
    let text = '';
    if (TextView.class.isInstance(view)) text = String(Java.cast(view, TextView).getText());
    let description = '';
    try { description = String(view.getContentDescription() || ''); } catch (e) { /* none */ }
    const m = COUNTDOWN.exec(text);
    if (m) found.countdown = Number(m[1] || m[3] || m[4]);
    if (view.isShown() && (CLOSE_CONTROL.test(name) || CLOSE_CONTROL.test(text.trim()) || CLOSE_CONTROL.test(description))) {
      const size = Math.min(view.getWidth(), view.getHeight()) / density;
      if (found.close === null || size > found.closeSize) {
        found.close = view;
        found.closeSize = size;
      }
    }
  });
  return found;
}

function recordWindow(kind, activity, root, isShowing, windowClass) {
  const found = describeWindow(root);
  if (found.consentDialog) markConsent('dialog_shown', null, null);
  const event = { type: 'ui', activity: activity, kind: kind, has_close_control: found.close !== null };
  if (found.close !== null) event.close_control_size_dp = Math.round(found.closeSize * 10) / 10;
  if (found.countdown !== null) {
    event.countdown_s = found.countdown;
    event.skippable = found.close !== null;
  }
  if (windowClass) event.window_class = windowClass;
  emit(event);
  if (found.close !== null) {
    closeControls.set(Java.use('java.lang.System').identityHashCode(found.close), { isShowing: isShowing, event: event });
  }
}

function checkCloseClick(view) {
  const key = Java.use('java.lang.System').identityHashCode(view);
  const entry = closeControls.get(key);
  if (!entry) return;
  closeControls.delete(key);
  setTimeout(function () {
    Java.perform(function () {
      if (entry.isShowing()) emit(Object.assign({}, entry.event, { close_control_works: false }));
    });
  }, 1000);
}

function currentActivityName(context) {
  try {
    return String(context.getClass().getName());
  } catch (e) {
    return 'unknown';
  }
}

function inspectActivity(activity, name) {
  try {
    const root = activity.getWindow().getDecorView();
    recordWindow('splash', name, root, function () { return !activity.isFinishing(); }, null);
  } catch (e) { /* activity gone */ }
}

function hookWindows() {
  const Dialog = Java.use('android.app.Dialog');
  Dialog.show.implementation = function () {
    const ret = this.show();
    const dialog = this;
    const creator = stack().map(function (f) { return f.class; }).find(function (c) { return !/^(android|androidx|java|com\.android)\./.test(c); });
    setTimeout(function () {
      Java.perform(function () {
        try {
          recordWindow('dialog', currentActivityName(dialog.getContext()), dialog.getWindow().getDecorView(),
            function () { return dialog.isShowing(); }, creator || null);
        } catch (e) { /* dismissed already */ }
      });
    }, 300);
    return ret;
  };
  const PopupWindow = Java.use('android.widget.PopupWindow');
  PopupWindow.showAtLocation.overloads.concat(PopupWindow.showAsDropDown.overloads).forEach(function (ov) {
    ov.implementation = function () {
      const ret = ov.apply(this, arguments);
      const popup = this;
      const creator = stack().map(function (f) { return f.class; }).find(function (c) { return !/^(android|androidx|java|com\.android)\./.test(c); });
      setTimeout(function () {
        Java.perform(function () {
          try {
            const content = popup.getContentView();
            recordWindow('popup', currentActivityName(content.getContext()), content,
              function () { return popup.isShowing(); }, creator || null);
          } catch (e) { /* dismissed already */ }
        });
      }, 300);
      return ret;
    };
  });
}

// -- network -------------------------------------------------------------------------------

function queryKeys(url) {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return url.slice(q + 1).split('&').map(function (kv) { return decodeURIComponent(kv.split('=')[0] || ''); }).filter(Boolean);
}

function jsonKeys(text) {
  const keys = new Set();
  try {
    const value = JSON.parse(text);
    const visit = function (node, depth) {
      if (depth > 2 || node === null || typeof node !== 'object') return;
      Object.keys(node).forEach(function (k) {
        if (!Array.isArray(node)) keys.add(k);
        visit(node[k], depth + 1);
      });
    };
    visit(value, 0);
  } catch (e) { /* not JSON */ }
  return Array.from(keys);
}

function networkEvent(url, method, bytesOut, bodyText, bodyKeys) {
  let host = '';
  const m = /^[a-z]+:\/\/([^/:?#]+)/i.exec(url);
  if (m) host = m[1].toLowerCase();
  if (!host || !/^(https?|wss?):/i.test(url)) return;
  const keys = new Set(bodyKeys.concat(queryKeys(url)));
  const event = {
    type: 'network',
    url: url.length > 4000 ? url.slice(0, 4000) : url,
    method: method,
    host: host,
    bytes_out: bytesOut,
    body_keys: Array.from(keys).slice(0, 200),
    pi_types_in_payload: taintIn(url + '\n' + (bodyText || '')),
    stack: stack(),
    thread: threadName(),
  };
  emit(event);
}

function hookOkHttp() {
  let Client;
  try { Client = Java.use('okhttp3.OkHttpClient'); } catch (e) { return false; }
  Client.newCall.implementation = function (request) {
    try {
      const url = String(request.url().toString());
      const method = String(request.method());
      const body = request.body();
      let bytesOut = 0;
      let text = '';
      let keys = [];
      if (body !== null) {
        bytesOut = Math.max(0, Number(body.contentLength()));
        const type = body.contentType();
        const mediaType = type === null ? '' : String(type.toString());
        let oneShot = false;
        try { oneShot = body.isOneShot(); } catch (e) { /* OkHttp < 3.14 */ }
        if (!oneShot && bytesOut <= MAX_BODY_BYTES && /json|form|text/i.test(mediaType)) {
          const buffer = Java.use('okio.Buffer').$new();
          body.writeTo(buffer);
          text = String(buffer.readUtf8());
          keys = /form/i.test(mediaType) ? queryKeys('?' + text) : jsonKeys(text);
        }
      }
      networkEvent(url, method, bytesOut, text, keys);
    } catch (e) { /* unusual request: not recorded */ }
    return this.newCall(request);
  };
  return true;
}

function hookUrlConnection() {
  const seen = new Set();
  const names = ['com.android.okhttp.internal.huc.HttpURLConnectionImpl'];
  names.forEach(function (name) {
    let cls;
    try { cls = Java.use(name); } catch (e) { return; }
    ['connect', 'getInputStream', 'getOutputStream'].forEach(function (m) {
      if (!cls[m]) return;
      cls[m].overloads.forEach(function (ov) {
        ov.implementation = function () {
          try {
            const id = Java.use('java.lang.System').identityHashCode(this);
            if (!seen.has(id)) {
              seen.add(id);
              // The body of an HttpURLConnection is a stream the app writes later: only the URL is inspected.
              networkEvent(String(this.getURL().toString()), String(this.getRequestMethod()), 0, '', []);
            }
          } catch (e) { /* not recorded */ }
          return ov.apply(this, arguments);
        };
      });
    });
  });
}

// -- start-up ------------------------------------------------------------------------------

function hookApplicationLoader() {
  // SDK classes live in the app's class loader, which exists only once the Application is attached.
  const Application = Java.use('android.app.Application');
  Application.attach.implementation = function (context) {
    const ret = this.attach(context);
    try {
      Java.classFactory.loader = context.getClassLoader();
      state.pendingHooks = state.pendingHooks.filter(function (hook) { return !installHook(hook); });
      hookOkHttp();
      ensureHeader();
    } catch (e) { /* keep recording framework APIs */ }
    return ret;
  };
}

function start() {
  Java.perform(function () {
    resolveUris();
    installApiHooks();
    [hookClicks, hookPermissions, hookStarts, hookActivities, hookWindows, hookUrlConnection, hookApplicationLoader].forEach(
      function (install) {
        try { install(); } catch (e) { send({ appwarden_warning: String(install.name) + ': ' + e }); }
      }
    );
    hookOkHttp();
    listenForHostMarkers();
    send({ appwarden_ready: { hooks: state.installed.size, pending: state.pendingHooks.length } });
  });
}

rpc.exports = {
  init: function (stage, parameters) {
    // `frida -P '{...}'` settings override the built-in ones (same keys as AgentSettings).
    if (parameters && typeof parameters === 'object') {
      Object.keys(parameters).forEach(function (k) {
        if (['agree_ids', 'disagree_ids', 'withdraw_ids', 'dialog_ids'].indexOf(k) >= 0) SETTINGS.consent[k] = parameters[k];
        else SETTINGS[k] = parameters[k];
      });
    }
  },
  markConsent: function (kind) {
    let ok = false;
    Java.perform(function () { ok = markConsent(String(kind), 'rpc', null); });
    return ok;
  },
  installedHooks: function () {
    return Array.from(state.installed).sort();
  },
};

if (typeof Java !== 'undefined' && Java.available) start();
