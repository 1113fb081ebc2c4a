// Architecture "java": com.sun.net.httpserver.HttpServer on a fixed pool of 8 threads,
// calling the backend with java.net.http.HttpClient forced to HTTP/1.1 (its connections
// are kept alive and its socket I/O runs on the client's own selector thread).
//
//   java -cp DIR Svc PORT_FILE BACKEND_HOST:PORT
//
// GET /r/<id> answers 200 with the backend's body (GET /b/<id>).
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class Svc {
    public static void main(String[] args) throws Exception {
        Path portFile = Path.of(args[0]);
        String base = "http://" + args[1];
        Pattern path = Pattern.compile("^/r/([0-9]+)$");
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
        server.createContext("/", exchange -> {
            byte[] body;
            int status;
            Matcher m = path.matcher(exchange.getRequestURI().getPath());
            if (!m.matches()) {
                status = 400;
                body = "svc: bad path\n".getBytes(StandardCharsets.UTF_8);
            } else {
                try {
                    HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/b/" + m.group(1)))
                            .timeout(Duration.ofSeconds(10)).GET().build();
                    HttpResponse<byte[]> resp = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
                    status = resp.statusCode();
                    body = resp.body();
                } catch (Exception e) {
                    status = 502;
                    body = ("svc: backend failed: " + e + "\n").getBytes(StandardCharsets.UTF_8);
                }
            }
            exchange.getResponseHeaders().set("Content-Type", "text/plain");
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.start();
        Path tmp = Path.of(args[0] + ".tmp");
        Files.writeString(tmp, server.getAddress().getPort() + "\n");
        Files.move(tmp, portFile, StandardCopyOption.ATOMIC_MOVE);
    }
}
