// A stand-in for Frida's Java bridge, enough to load the appwarden agent bundle in node.
// Usage: node frida_mock.js BUNDLE.js  -> prints {installed, installs, lines} as JSON.
// Every method hook the agent installs is recorded (class, method, overload types); a few
// calls are then replayed through the installed implementations to capture the trace lines.
'use strict';

const fs = require('fs');
const vm = require('vm');

const installs = [];
const implementations = {};
const messages = [];
const FIELD_VALUES = { 'android.os.Build$VERSION.SDK_INT': 33 };

function stackElement(cls, method) {
  return {
    getClassName: () => cls,
    getMethodName: () => method,
    getFileName: () => null,
    getLineNumber: () => -1,
  };
}
const STACK = [
  stackElement('android.telephony.TelephonyManager', 'getDeviceId'),
  stackElement('com.umeng.commonsdk.statistics.idtracking.ImeiTracker', 'f'),
  stackElement('com.example.shop.ShopApp', 'onCreate'),
];

function makeOverload(cls, method, params) {
  const key = cls + '.' + method + '(' + (params === null ? '*' : params.join(',')) + ')';
  const ov = function () { return cls === 'android.telephony.TelephonyManager' ? '864000000000001' : null; };
  Object.defineProperty(ov, 'implementation', {
    set(fn) {
      installs.push({ class: cls, method: method, params: params });
      implementations[key] = fn;
    },
    get() { return null; },
  });
  return ov;
}

function makeMethod(cls, name) {
  const m = function () { return null; };
  m.overloads = [makeOverload(cls, name, null)];
  m.overload = function () { return makeOverload(cls, name, Array.from(arguments)); };
  m.value = FIELD_VALUES[cls + '.' + name] !== undefined ? FIELD_VALUES[cls + '.' + name] : null;
  if (name === '$new' && cls === 'java.lang.Exception') {
    return function () { return { getStackTrace: () => STACK }; };
  }
  return m;
}

function makeClass(name) {
  const cache = {};
  return new Proxy({}, {
    get(_, prop) {
      if (typeof prop === 'symbol') return undefined;
      if (prop === 'class') {
        return { getDeclaredMethods: () => [{ getName: () => 'declaredMethod' }], isInstance: () => false };
      }
      if (prop === '$className') return name;
      if (!cache[prop]) cache[prop] = makeMethod(name, prop);
      return cache[prop];
    },
  });
}

global.Java = { available: true, perform: (fn) => fn(), use: makeClass, cast: (o) => o, classFactory: {} };
global.send = (message) => messages.push(message);
global.recv = () => undefined;
global.rpc = {};
global.File = function () {
  this.write = () => undefined;
  this.flush = () => undefined;
  this.close = () => undefined;
};

vm.runInThisContext(fs.readFileSync(process.argv[2], 'utf8'), { filename: 'agent-bundle.js' });

// Replay: an SDK reads the IMEI, then the tester marks consent.
const fakeThis = {};
implementations['android.telephony.TelephonyManager.getDeviceId()'].call(fakeThis);
rpc.exports.markConsent('agree');

process.stdout.write(JSON.stringify({
  installed: rpc.exports.installedHooks(),
  installs: installs,
  lines: messages.filter((m) => m.appwarden_trace_line).map((m) => m.appwarden_trace_line),
  other: messages.filter((m) => !m.appwarden_trace_line),
}));
