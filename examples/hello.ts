// The smallest Flick function: curl localhost:8080/fn/hello
export default {
  fetch(): Response {
    return new Response("Hello from Flick!\n");
  },
};
