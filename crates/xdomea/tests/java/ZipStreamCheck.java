import java.io.BufferedInputStream;
import java.io.FileInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Reads a zip front to back with java.util.zip.ZipInputStream, without the central directory, the way
 * streaming importers do; ZipInputStream checks every entry's CRC-32 and sizes against its data
 * descriptor. Prints "name size" per entry. Run: java ZipStreamCheck.java FILE.zip
 */
public class ZipStreamCheck {
    public static void main(String[] args) throws Exception {
        try (ZipInputStream in = new ZipInputStream(new BufferedInputStream(new FileInputStream(args[0])))) {
            ZipEntry entry;
            byte[] buffer = new byte[65536];
            while ((entry = in.getNextEntry()) != null) {
                long total = 0;
                int n;
                while ((n = in.read(buffer)) > 0) {
                    total += n;
                }
                System.out.println(entry.getName() + " " + total);
            }
        }
    }
}
