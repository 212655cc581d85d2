import { readString, writeString } from "../../../../conformance/guest/assemblyscript";
export { allocate } from "../../../../conformance/guest/assemblyscript";

@external("index", "test.hello") declare function hello(name: usize): usize;

export function greet(name: usize): usize {
  return writeString("hello, " + readString(name));
}
