// The tags a VU's requests and checks carry, as k6 tags them: the group being run and
// the request's own `params.tags` (its `name` aside) or the tags given to `check`. The
// host keeps them for thresholds that filter by tag (`http_req_duration{type:API}`,
// `checks{myTag:x}`); they are sent only when they change, so a script without tags
// or groups makes no extra host call.

import { setTags } from 'stampede:scenario/metrics@0.2.0';

// The group being run, as k6 names it: '' at the top, '::outer::inner' inside.
let groupPath = '';
// The tags the host holds, as a key ('' for none); it drops them when a call returns.
let held = '';

export function currentGroup() {
  return groupPath;
}

export function enterGroup(path) {
  groupPath = path;
}

/** At the start of each lifecycle call: the host holds no tags. */
export function forgetTags() {
  held = '';
}

/** Before a request or check: the host's tags become the group's and `own`'s. */
export function tagNext(own) {
  let list;
  let key = '';
  if (own) {
    for (const k in own) {
      const v = own[k];
      if (k === 'name' || v === undefined || v === null) continue;
      const s = String(v);
      (list ??= []).push([k, s]);
      key += `\x1e${k}\x1f${s}`;
    }
  }
  if (groupPath && !(own && 'group' in own)) {
    (list ??= []).push(['group', groupPath]);
    key += `\x1egroup\x1f${groupPath}`;
  }
  if (key === held) return;
  try {
    setTags(list ?? []);
  } catch (e) {
    const why = e && typeof e.payload === 'string' ? e.payload : String(e);
    throw new TypeError(`tags: ${why}`);
  }
  held = key;
}
