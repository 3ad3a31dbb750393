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

/**
 * The tags a request or check carries, as the host takes them: `own` (its `name`
 * aside) and the group being run; `undefined` for none.
 */
export function tagsFor(own) {
  let list;
  if (own) {
    for (const k in own) {
      const v = own[k];
      if (k === 'name' || v === undefined || v === null) continue;
      (list ??= []).push([k, String(v)]);
    }
  }
  if (groupPath && !(own && 'group' in own)) (list ??= []).push(['group', groupPath]);
  return list;
}

/** Before a request or check: the host's tags become the group's and `own`'s. */
export function tagNext(own) {
  const list = tagsFor(own);
  let key = '';
  if (list) for (const [k, v] of list) key += `\x1e${k}\x1f${v}`;
  if (key === held) return;
  try {
    setTags(list ?? []);
  } catch (e) {
    const why = e && typeof e.payload === 'string' ? e.payload : String(e);
    throw new TypeError(`tags: ${why}`);
  }
  held = key;
}
