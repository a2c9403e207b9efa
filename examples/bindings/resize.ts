// A function that takes work from a queue binding (see front.ts): batches of messages.
interface Message {
  body: unknown;
  ack(): void;
}

export default {
  async queue(batch: { messages: Message[] }): Promise<void> {
    for (const message of batch.messages) {
      console.log("resizing", JSON.stringify(message.body));
      message.ack();
    }
  },
};
