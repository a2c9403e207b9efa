// A durable object per room: every request for a room reaches its one instance, one at a
// time. `flick deploy examples/state/room.ts --do-binding ROOMS=Room`, then /fn/room/<name>.
interface State {
  id: { toString(): string; name?: string };
  storage: { get<T>(key: string): Promise<T | undefined>; put(key: string, value: unknown): Promise<void> };
}

export class Room {
  private readonly state: State;
  private seen = 0;
  constructor(state: State) {
    this.state = state;
  }
  async fetch(): Promise<Response> {
    const visits = ((await this.state.storage.get<number>("visits")) ?? 0) + 1;
    await this.state.storage.put("visits", visits);
    this.seen++;
    return Response.json({ room: this.state.id.name, visits, sinceStart: this.seen });
  }
}

interface Env {
  ROOMS: { getByName(name: string): { fetch(request: Request): Promise<Response> } };
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const room = new URL(request.url).pathname.slice(1) || "lobby";
    return env.ROOMS.getByName(room).fetch(request);
  },
};
