import ChatWorkerCore
import Courier
import CourierRuntime

// QUEUE_TYPE, REDIS_URL or SQLITE_PATH choose the queue; OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL the
// model. A 429 is retried after its Retry-After, a 5xx with backoff, other 4xx fail at once; set
// COURIER_BREAKER_FAILURES to stop calling a model that keeps failing.
let environment = QueueEnvironment()
try QueueRuntime.bootstrapLogging(environment)  // standard error at LOG_LEVEL
let handler = ChatHandler(client: ChatModelClient(settings: try ChatModelSettings(environment: environment)))
var application = try WorkerApplication(environment: environment, streamingHandler: handler.handle)
application.handlerName = "chat"
try await application.run()
