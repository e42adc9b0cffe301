// `as-headers`: a filter in AssemblyScript with solo-io's proxy-runtime (proxy-wasm ABI 0.2.0).
// Configuration: a string put in the `x-as` response header. Requests with `x-as-deny` get a
// 403 local reply; the others reach the upstream with `x-as-seen: yes`.
export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, stream_context,
  send_local_response, GrpcStatusValues, HeaderPair,
} from "@solo-io/proxy-runtime";

class HeadersRoot extends RootContext {
  createContext(context_id: u32): Context {
    return new Headers(context_id, this);
  }
}

class Headers extends Context {
  root: HeadersRoot;
  constructor(context_id: u32, root_context: HeadersRoot) {
    super(context_id, root_context);
    this.root = root_context;
  }

  onRequestHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    if (stream_context.headers.request.get("x-as-deny") != "") {
      let headers: HeaderPair[] = [];
      headers.push(new HeaderPair(String.UTF8.encode("x-denied-by"), String.UTF8.encode("as-headers")));
      send_local_response(403, "denied by assemblyscript", String.UTF8.encode("denied by an AssemblyScript filter"), headers, GrpcStatusValues.Unknown);
      return FilterHeadersStatusValues.StopIteration;
    }
    stream_context.headers.request.add("x-as-seen", "yes");
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    stream_context.headers.response.add("x-as", this.root.getConfiguration());
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new HeadersRoot(context_id); }, "as-headers");
