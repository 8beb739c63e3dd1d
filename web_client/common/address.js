// A page's settings from its address: the fragment (#…, never sent to a server, where links carry
// tokens and keys) first, then the query (?…). Tests and people append settings to either part.
export function addressSetting(name) {
  return new URLSearchParams(location.hash.slice(1)).get(name) ?? new URLSearchParams(location.search).get(name);
}

export function addressHas(name) {
  return new URLSearchParams(location.hash.slice(1)).has(name) || new URLSearchParams(location.search).has(name);
}
