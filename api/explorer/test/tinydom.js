// A tiny DOM-like tree for the node tests of lib/work.js (node has no DOMParser): elements
// {nodeType: 1, nodeName, childNodes}, text {nodeType: 3, data}, comments {nodeType: 8}. The
// browser test (tests/browser/work.test.js) runs the same walk on Chromium's DOMParser.
export const el = (name, ...kids) => ({ nodeType: 1, nodeName: name.toUpperCase(), localName: name, childNodes: kids.map((k) => (typeof k === 'string' ? txt(k) : k)) });
export const txt = (data) => ({ nodeType: 3, data });
export const comment = (data) => ({ nodeType: 8, data });
export const doc = (head, body) => ({ nodeType: 9, body, childNodes: [el('html', head, body)] });
