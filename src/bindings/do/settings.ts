/**
 * A durable-object binding's names (../settings.ts): `env.NAME` is the namespace of a class
 * the function exports; `get(id).fetch()` reaches the one live instance of that object.
 */
export const doSettings = {
  kind: "do",
  apiKey: "durableObjectBindings",
  flag: "do-binding",
  table: "durable_objects",
  help: "env.NAME is the durable objects of class CLASS, which this function exports (repeatable)",
  target: { pattern: /^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/, rule: "a durable object binding names a class the function exports: a JavaScript identifier such as Room" },
  typeName: "FlickDurableObjectNamespace",
  typeDeclaration: `/** \`env.NAME\` of a durable object binding: ids, and stubs that reach the one live instance of an object. */
interface FlickDurableObjectId {
  toString(): string;
  equals(other: FlickDurableObjectId): boolean;
  readonly name?: string;
}
interface FlickDurableObjectStub {
  readonly id: FlickDurableObjectId;
  readonly name?: string;
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}
interface FlickDurableObjectNamespace {
  idFromName(name: string): FlickDurableObjectId;
  newUniqueId(): FlickDurableObjectId;
  idFromString(id: string): FlickDurableObjectId;
  get(id: FlickDurableObjectId): FlickDurableObjectStub;
  getByName(name: string): FlickDurableObjectStub;
}`,
} as const;
