// Types for murmurhash3js-revisited, which ships none; only the function this project calls.
declare module 'murmurhash3js-revisited' {
  const murmur: { x86: { hash32(bytes: Uint8Array, seed?: number): number } };
  export default murmur;
}
