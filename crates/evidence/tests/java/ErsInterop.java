// BouncyCastle 1.72's ERS implementation (org.bouncycastle.tsp.ers) driven from registratur's tests.
//
//   validate TSA_CERT_PEM (ERS_FILE DATA_FILE)...
//       reads evidence records written by registratur, runs ERSEvidenceRecord.validatePresent on each one's
//       data and validate with a verifier built from the TSA certificate; prints "VALID <i>" or
//       "INVALID <i>: <reason>" per pair, and exits 0 only when all are valid.
//   build TSA_URL OUT_DIR DATA_FILE...
//       builds one hash tree over the data files with ERSArchiveTimeStampGenerator (SHA-256), gets a
//       timestamp for its root from the TSA over HTTP, and writes OUT_DIR/<i>.ers for data file i.
//   renew-ts ERS_IN TSA_URL ERS_OUT
//       renews the record's timestamp with ERSEvidenceRecord.renewTimeStamp (RFC 4998 section 5.2).
//   renew-hash ERS_IN DATA_FILE TSA_URL ERS_OUT
//       renews the record's hash tree with SHA-512 with ERSEvidenceRecord.renewHash.

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileReader;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.SignerInformationVerifier;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.DigestCalculator;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.tsp.TimeStampRequest;
import org.bouncycastle.tsp.TimeStampRequestGenerator;
import org.bouncycastle.tsp.TimeStampResponse;
import org.bouncycastle.tsp.ers.ERSArchiveTimeStamp;
import org.bouncycastle.tsp.ers.ERSArchiveTimeStampGenerator;
import org.bouncycastle.tsp.ers.ERSByteData;
import org.bouncycastle.tsp.ers.ERSData;
import org.bouncycastle.tsp.ers.ERSEvidenceRecord;
import org.bouncycastle.tsp.ers.ERSEvidenceRecordGenerator;

public class ErsInterop
{
    public static void main(String[] args)
        throws Exception
    {
        java.security.Security.addProvider(new BouncyCastleProvider());
        DigestCalculatorProvider digests = new JcaDigestCalculatorProviderBuilder().build();
        if (args.length >= 4 && args.length % 2 == 0 && args[0].equals("validate"))
        {
            X509CertificateHolder tsaCert;
            try (PEMParser parser = new PEMParser(new FileReader(args[1])))
            {
                tsaCert = (X509CertificateHolder)parser.readObject();
            }
            SignerInformationVerifier verifier = new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(tsaCert);
            boolean allValid = true;
            for (int i = 2; i < args.length; i += 2)
            {
                int index = (i - 2) / 2;
                try
                {
                    ERSEvidenceRecord ers = read(args[i], digests);
                    byte[] data = Files.readAllBytes(new File(args[i + 1]).toPath());
                    ers.validatePresent(new ERSByteData(data), new Date());
                    ers.validate(verifier);
                    System.out.println("VALID " + index);
                }
                catch (Exception e)
                {
                    allValid = false;
                    System.out.println("INVALID " + index + ": " + e);
                }
            }
            System.exit(allValid ? 0 : 1);
        }
        else if (args.length >= 4 && args[0].equals("build"))
        {
            DigestCalculator sha256 = digests.get(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256));
            ERSArchiveTimeStampGenerator generator = new ERSArchiveTimeStampGenerator(sha256);
            List<ERSData> data = new ArrayList<ERSData>();
            for (int i = 3; i < args.length; i++)
            {
                data.add(new ERSByteData(Files.readAllBytes(new File(args[i]).toPath())));
            }
            generator.addAllData(data);
            TimeStampRequestGenerator requestGenerator = new TimeStampRequestGenerator();
            requestGenerator.setCertReq(true);
            BigInteger nonce = new BigInteger(64, new SecureRandom());
            TimeStampRequest request = generator.generateTimeStampRequest(requestGenerator, nonce);
            TimeStampResponse response = new TimeStampResponse(post(args[1], request.getEncoded()));
            response.validate(request);
            List<ERSArchiveTimeStamp> stamps = generator.generateArchiveTimeStamps(response);
            List<ERSEvidenceRecord> records = new ERSEvidenceRecordGenerator(digests).generate(stamps);
            for (int i = 0; i < records.size(); i++)
            {
                Files.write(new File(args[2], i + ".ers").toPath(), records.get(i).getEncoded());
            }
            System.out.println("BUILT " + records.size());
        }
        else if (args.length == 4 && args[0].equals("renew-ts"))
        {
            ERSEvidenceRecord ers = read(args[1], digests);
            TimeStampRequestGenerator requestGenerator = new TimeStampRequestGenerator();
            requestGenerator.setCertReq(true);
            TimeStampRequest request = ers.generateTimeStampRenewalRequest(requestGenerator, new BigInteger(64, new SecureRandom()));
            TimeStampResponse response = new TimeStampResponse(post(args[2], request.getEncoded()));
            response.validate(request);
            Files.write(new File(args[3]).toPath(), ers.renewTimeStamp(response).getEncoded());
            System.out.println("RENEWED");
        }
        else if (args.length == 5 && args[0].equals("renew-hash"))
        {
            ERSEvidenceRecord ers = read(args[1], digests);
            ERSData data = new ERSByteData(Files.readAllBytes(new File(args[2]).toPath()));
            DigestCalculator sha512 = digests.get(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha512));
            TimeStampRequestGenerator requestGenerator = new TimeStampRequestGenerator();
            requestGenerator.setCertReq(true);
            TimeStampRequest request = ers.generateHashRenewalRequest(sha512, data, requestGenerator, new BigInteger(64, new SecureRandom()));
            TimeStampResponse response = new TimeStampResponse(post(args[3], request.getEncoded()));
            response.validate(request);
            Files.write(new File(args[4]).toPath(), ers.renewHash(sha512, data, response).getEncoded());
            System.out.println("RENEWED");
        }
        else
        {
            System.err.println("usage: ErsInterop validate ERS DATA TSA_CERT | build TSA_URL OUT_DIR DATA...");
            System.exit(2);
        }
    }

    private static ERSEvidenceRecord read(String path, DigestCalculatorProvider digests)
        throws Exception
    {
        try (InputStream in = new FileInputStream(path))
        {
            return new ERSEvidenceRecord(in, digests);
        }
    }

    private static byte[] post(String url, byte[] body)
        throws Exception
    {
        HttpURLConnection connection = (HttpURLConnection)new URL(url).openConnection();
        connection.setRequestMethod("POST");
        connection.setDoOutput(true);
        connection.setRequestProperty("Content-Type", "application/timestamp-query");
        try (OutputStream out = connection.getOutputStream())
        {
            out.write(body);
        }
        try (InputStream in = connection.getInputStream())
        {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            byte[] chunk = new byte[4096];
            int n;
            while ((n = in.read(chunk)) > 0)
            {
                buffer.write(chunk, 0, n);
            }
            return buffer.toByteArray();
        }
    }
}
